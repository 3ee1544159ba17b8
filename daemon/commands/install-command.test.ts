import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'smol-toml';
import { parseArgs } from '../flags';
import { makeInstallCommand, type InstallEnvironment } from './install-command';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';

/** contrib/berthd.service of this checkout (from dist/daemon/commands or a private outDir run in the repo). */
function unitTemplatePath(): string {
  const candidates = [path.resolve(__dirname, '..', '..', '..', 'contrib', 'berthd.service'), path.resolve('contrib', 'berthd.service')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`contrib/berthd.service not found (looked at ${candidates.join(', ')})`);
  return found;
}

describe('daemon/commands install', () => {
  let dir: string;
  let checkout: string;
  let dest: string;
  let booted: boolean;

  tempDirEach('berth-install-test-', (d) => {
    dir = d;
    // A stand-in checkout: the real unit template and a bin/berthd that echoes its arguments.
    checkout = path.join(dir, 'checkout');
    fs.mkdirSync(path.join(checkout, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(checkout, 'contrib'));
    fs.copyFileSync(unitTemplatePath(), path.join(checkout, 'contrib', 'berthd.service'));
    fs.writeFileSync(path.join(checkout, 'bin', 'berthd'), "process.stdout.write('launched ' + JSON.stringify(process.argv.slice(2)));\n");
    dest = path.join(dir, 'dest');
    booted = false;
  });

  async function run(...extra: string[]): Promise<{ code: number; out: string; err: string }> {
    const env: InstallEnvironment = { checkoutRoot: checkout, nodePath: process.execPath, systemdBooted: () => booted, pid1Name: () => 'tini' };
    let out = '';
    let err = '';
    const args = parseArgs(['install', '--config', path.join(dir, 'absent.toml'), '--config-dir', path.join(dir, 'd'), ...extra]);
    const code = await makeInstallCommand(env).run({ args, stdout: (t) => (out += t), stderr: (t) => (err += t) });
    return { code, out, err };
  }

  it('--dry-run reports every file and writes nothing', async () => {
    fs.writeFileSync(path.join(dir, 'absent.toml'), '');
    const r = await run('--destdir', dest, '--dry-run');
    expect(r.code, r.err).to.equal(0);
    for (const p of ['usr/local/bin/berthd', 'etc/systemd/system/berthd.service', 'etc/berth/berth.toml', 'etc/crictl.yaml']) {
      expect(r.out).to.match(new RegExp(`would create +${path.join(dest, p).replace(/[.]/g, '\\.')}`));
    }
    expect(fs.existsSync(dest)).to.equal(false);
  });

  it('installs a working launcher, the unit, config and crictl.yaml; a second run changes nothing', async () => {
    fs.writeFileSync(path.join(dir, 'absent.toml'), '');
    const r = await run('--destdir', dest, '--listen', '/run/berth-x/x.sock');
    expect(r.code, r.err).to.equal(0);
    const launcher = path.join(dest, 'usr/local/bin/berthd');
    expect(fs.statSync(launcher).mode & 0o777).to.equal(0o755);
    const ran = spawnSync(launcher, ['version', "it's"], { encoding: 'utf8' });
    expect(ran.stdout).to.equal(`launched ["version","it's"]`);

    const unit = fs.readFileSync(path.join(dest, 'etc/systemd/system/berthd.service'), 'utf8');
    expect(unit).to.match(/^ExecStart=\/usr\/local\/bin\/berthd$/m);
    for (const line of ['KillMode=process', 'Delegate=yes', 'Restart=always', 'TasksMax=infinity', 'OOMScoreAdjust=-999']) expect(unit).to.match(new RegExp(`^${line}$`, 'm'));

    const toml = parse(fs.readFileSync(path.join(dest, 'etc/berth/berth.toml'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(toml.daemon.listen).to.equal('/run/berth-x/x.sock');
    expect(toml.metrics.listen).to.equal('127.0.0.1:9090');
    expect(fs.readFileSync(path.join(dest, 'etc/crictl.yaml'), 'utf8')).to.contain('runtime-endpoint: unix:///run/berth-x/x.sock\n');
    expect(r.out).to.contain('systemd is not running on this host (PID 1 is "tini"), so install did not call systemctl');

    const again = await run('--destdir', dest);
    expect(again.code).to.equal(0);
    expect(again.out).to.match(/unchanged +\S+usr\/local\/bin\/berthd/);
    expect(again.out).to.match(/unchanged +\S+berthd\.service/);
    expect(again.out).to.match(/kept \(exists; not overwritten\) +\S+berth\.toml/);
  });

  it('never overwrites an admin berth.toml, replaces a symlinked launcher, honours --prefix', async () => {
    fs.writeFileSync(path.join(dir, 'absent.toml'), '');
    fs.mkdirSync(path.join(dest, 'etc/berth'), { recursive: true });
    fs.writeFileSync(path.join(dest, 'etc/berth/berth.toml'), '# mine\n');
    fs.mkdirSync(path.join(dest, 'opt/berth/bin'), { recursive: true });
    const other = path.join(dir, 'other-target');
    fs.writeFileSync(other, 'do not touch');
    fs.symlinkSync(other, path.join(dest, 'opt/berth/bin/berthd'));
    booted = true;
    const r = await run('--destdir', dest, '--prefix', '/opt/berth');
    expect(r.code, r.err).to.equal(0);
    expect(fs.readFileSync(path.join(dest, 'etc/berth/berth.toml'), 'utf8')).to.equal('# mine\n');
    expect(fs.lstatSync(path.join(dest, 'opt/berth/bin/berthd')).isSymbolicLink()).to.equal(false);
    expect(fs.readFileSync(other, 'utf8')).to.equal('do not touch');
    expect(fs.readFileSync(path.join(dest, 'etc/systemd/system/berthd.service'), 'utf8')).to.match(/^ExecStart=\/opt\/berth\/bin\/berthd$/m);
    expect(fs.readFileSync(path.join(dest, 'etc/systemd/system/berthd.service'), 'utf8')).to.match(/^ExecStartPost=\/opt\/berth\/bin\/berthd wait-ready /m);
    expect(r.out).to.match(/updated +\S+opt\/berth\/bin\/berthd/);
    expect(r.out).to.contain('systemctl daemon-reload && systemctl enable --now berthd');
  });

  it('refuses --root without --destdir (it names the state dir, not the install root); with --destdir it goes into berth.toml', async () => {
    fs.writeFileSync(path.join(dir, 'absent.toml'), '');
    // Without its template the checkout cannot install, so a broken guard fails here instead of writing to the real /.
    fs.renameSync(path.join(checkout, 'contrib'), path.join(checkout, 'contrib.off'));
    const ambiguous = await run('--root', dest);
    expect(ambiguous.err).to.contain('use --destdir <dir> to install below a directory');
    expect(ambiguous.code).to.equal(2);
    fs.renameSync(path.join(checkout, 'contrib.off'), path.join(checkout, 'contrib'));
    const r = await run('--destdir', dest, '--root', '/srv/berth');
    expect(r.code, r.err).to.equal(0);
    const toml = parse(fs.readFileSync(path.join(dest, 'etc/berth/berth.toml'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(toml.daemon.root).to.equal('/srv/berth');
  });

  it('refuses a relative prefix (exit 2) and a checkout without the unit template (exit 1)', async () => {
    fs.writeFileSync(path.join(dir, 'absent.toml'), '');
    const rel = await run('--destdir', dest, '--prefix', 'usr/local');
    expect(rel.code).to.equal(2);
    expect(rel.err).to.contain('--prefix must be an absolute path, got "usr/local"');
    fs.rmSync(path.join(checkout, 'contrib'), { recursive: true });
    const broken = await run('--destdir', dest);
    expect(broken.code).to.equal(1);
    expect(broken.err).to.contain('is this a berth checkout?');
    expect(fs.existsSync(dest)).to.equal(false);
  });
});
