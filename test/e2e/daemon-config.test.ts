/** berthd's config from the outside: `berthd config`, invalid configs, `version`, `--help`. */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'smol-toml';
import { runBerthd, startBerthd } from './support/berthd';

describe('e2e: berthd config and CLI', function () {
  this.timeout(30000);

  it('`berthd config` prints the effective config: file, drop-in and flag layered', async () => {
    const run = await runBerthd(['config', '--log-level', 'debug'], {
      configToml: '[daemon]\nroot = "/srv/berth"\n[log]\nlevel = "warn"\n',
      dropIns: { '10-runtimes.toml': '[runtimes.kata]\npath = "/opt/kata/bin/kata-runtime"\n' },
    });
    expect(run.code, run.stderr).to.equal(0);
    const doc = parse(run.stdout) as Record<string, Record<string, unknown>>;
    expect(doc.daemon.root).to.equal('/srv/berth');
    expect(doc.daemon.listen).to.equal('/run/berth/berth.sock');
    expect(doc.log.level).to.equal('debug');
    expect(doc.runtimes.kata).to.deep.equal({ path: '/opt/kata/bin/kata-runtime' });
    expect((doc.cni.default_network as Record<string, unknown>).subnet).to.equal('10.89.0.0/16');
  });

  it('exits non-zero on an invalid config, naming the key and file', async () => {
    const run = await runBerthd([], { dropIns: { '50-bad.toml': '[daemon]\ncgroup_driver = "cgroupv3"\n' } });
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain('[daemon] cgroup_driver: must be one of cgroupfs, systemd, got "cgroupv3"');
    expect(run.stderr).to.contain('50-bad.toml');
  });

  it('exits non-zero on a bad flag value, naming the flag', async () => {
    const run = await runBerthd(['--metrics-listen', 'nope']);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain('[metrics] listen: must be host:port');
    expect(run.stderr).to.contain('--metrics-listen');
  });

  it('warns about unknown keys on stderr and still works', async () => {
    const run = await runBerthd(['config'], { configToml: '[daemon]\nlisten_socket = "/x"\n' });
    expect(run.code).to.equal(0);
    expect(run.stderr).to.contain('[daemon] listen_socket: unknown key, ignored');
  });

  it('logs unknown keys as structured warnings when serving', async () => {
    const d = await startBerthd({ dropIns: { '10.toml': '[log]\ncolour = "blue"\n' } });
    try {
      const warning = d.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'configuration warning');
      expect(warning?.level).to.equal('warn');
      expect(String(warning?.warning)).to.match(/10\.toml: \[log\] colour: unknown key, ignored$/);
    } finally {
      await d.cleanup();
    }
  });

  it('refuses the systemd cgroup driver on this host (no systemd as PID 1): exit 2 naming the key and why', async () => {
    // Private paths: were the driver accepted, the daemon must not touch the host's default state.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-cgdriver-'));
    let run;
    try {
      run = await runBerthd(['--cgroup-driver', 'systemd', '--root', `${tmp}/root`, '--run-root', `${tmp}/run`, '--listen', `${tmp}/berth.sock`, '--metrics-listen', ''], {}, 10000);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    expect(run.code, run.stderr).to.equal(2);
    expect(run.stderr).to.contain('[daemon] cgroup_driver: "systemd" needs systemd as the init system (PID 1), but /run/systemd/system does not exist');
    expect(run.stderr).to.contain('set cgroup_driver = "cgroupfs"');
    expect(run.stderr).not.to.contain('berthd ready');
  });

  it('prints version and help, and refuses unknown commands and flags', async () => {
    const version = await runBerthd(['version']);
    expect(version.code).to.equal(0);
    expect(version.stdout).to.match(/^berthd \d+\.\d+\.\d+/);
    const help = await runBerthd(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain('--metrics-listen');
    expect(help.stdout).to.contain('config');
    const unknown = await runBerthd(['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain('unknown command "frobnicate"');
    const badFlag = await runBerthd(['--no-such-flag', 'x']);
    expect(badFlag.code).to.equal(2);
    expect(badFlag.stderr).to.contain('unknown flag --no-such-flag');
  });
});
