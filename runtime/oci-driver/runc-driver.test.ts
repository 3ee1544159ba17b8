import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errorKindOf } from '../../common/errors';
import { RuncDriver } from './runc-driver';
import { subdirs, tempDirEach } from '../../common/testing/temp-dir-fixtures';

/**
 * A stand-in for runc: appends its argv (one invocation per line) to `<dir>/argv`, copies an exec's
 * process file to `<dir>/process.seen`, and behaves as `<dir>/mode` says:
 * state → prints a state (or, mode "gone", runc's JSON error); update → saves stdin;
 * exec → writes the pid file, prints "out"/"err", exits 3 (mode "fail": no pid file, a JSON error
 * in --log, exit 255; mode "forge": the process itself prints a runc-like error and exits 255).
 */
const FAKE_RUNC = `#!/bin/sh
d=$(dirname "$0")
echo "$@" >> "$d/argv"
verb=; pid=; log=; proc=
for a in "$@"; do
  case "$a" in
    --pid-file=*) pid=\${a#--pid-file=};;
    --log=*) log=\${a#--log=};;
    --process=*) proc=\${a#--process=};;
    -*) ;;
    *) [ -z "$verb" ] && verb=$a;;
  esac
done
mode=$(cat "$d/mode" 2>/dev/null)
case "$verb" in
  state)
    if [ "$mode" = gone ]; then echo '{"level":"error","msg":"container does not exist","time":"t"}' >&2; exit 1; fi
    echo '{"id":"c1","pid":42,"status":"running","bundle":"/b","created":"t"}';;
  update) cat > "$d/update.in";;
  exec)
    cp "$proc" "$d/process.seen"
    case "$mode" in
      fail) echo '{"level":"error","msg":"exec failed: container does not exist","time":"t"}' >> "$log"; echo "exec failed: container does not exist" >&2; exit 255;;
      forge) echo $$ > "$pid"; echo 'time="t" level=error msg="container does not exist"' >&2; exit 255;;
      *) echo $$ > "$pid"; echo out; echo err >&2; exit 3;;
    esac;;
esac
exit 0
`;

describe('runtime/oci-driver/runc-driver: every runtime invocation', () => {
  let dir: string;
  let root: string;
  let bin: string;

  tempDirEach('berth-driver-', async (d) => {
    dir = d;
    [root] = subdirs(dir, 'root');
    bin = path.join(dir, 'runc');
    await fs.writeFile(bin, FAKE_RUNC, { mode: 0o755 });
  });

  const invocations = async () => (await fs.readFile(path.join(dir, 'argv'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const globals = () => `--root=${root} --log-format=json`;

  it('start, kill, delete, state and update: the global flags, then the command and its own flags', async () => {
    const driver = new RuncDriver(bin, root); // runc: no state dir for these ids, so the CLI runs
    await driver.start('c1');
    await driver.kill('c1', 'TERM');
    await driver.delete('c1', false);
    await driver.delete('c1', true);
    expect(await driver.state('c1')).to.deep.include({ id: 'c1', pid: 42, status: 'running' });
    await driver.update('c1', { memory: { limit: 1024 } });
    expect(await invocations()).to.deep.equal([
      `${globals()} start c1`,
      `${globals()} kill c1 TERM`,
      `${globals()} delete c1`,
      `${globals()} delete --force c1`,
      `${globals()} state c1`,
      `${globals()} update --resources=- c1`,
    ]);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'update.in'), 'utf8'))).to.deep.equal({ memory: { limit: 1024 } });
  });

  it('crun (no direct ops) gets the same flags', async () => {
    const driver = new RuncDriver(bin, root, { directOps: false });
    await driver.start('c1');
    expect(await invocations()).to.deep.equal([`${globals()} start c1`]);
  });

  it('version: `--version` alone, asked once', async () => {
    await fs.writeFile(bin, `#!/bin/sh\necho "$@" >> "$(dirname "$0")/argv"\necho 'runc version 1.1.5'\n`, { mode: 0o755 });
    const driver = new RuncDriver(bin, root);
    expect(await driver.version()).to.equal('runc version 1.1.5\n');
    expect(await driver.version()).to.equal('runc version 1.1.5\n');
    expect(await invocations()).to.deep.equal(['--version']);
    expect(await new RuncDriver(path.join(dir, 'missing'), root).version()).to.equal(undefined);
  });

  it('conmon`s runtime args are the global flags; never --systemd-cgroup', () => {
    const driver = new RuncDriver(bin, root);
    expect(driver.conmonRuntimeArgs()).to.deep.equal(['--runtime-arg', `--root=${root}`, '--runtime-arg', '--log-format=json']);
    const all = [
      driver.argv({ verb: 'version' }),
      driver.argv({ verb: 'state', id: 'c' }),
      driver.argv({ verb: 'start', id: 'c' }),
      driver.argv({ verb: 'exec', id: 'c', processFile: '/p', pidFile: '/q', logFile: '/l', tty: true }),
      driver.conmonRuntimeArgs(),
    ].flat();
    expect(all.filter((a) => a.includes('systemd'))).to.deep.equal([]);
  });

  it('state of an unknown container is undefined (runc`s JSON error classified)', async () => {
    await fs.writeFile(path.join(dir, 'mode'), 'gone');
    expect(await new RuncDriver(bin, root).state('nope')).to.equal(undefined);
  });

  it('exec: --log to its own file, --process, --pid-file, the process file as given; output and exit code; files removed', async () => {
    const driver = new RuncDriver(bin, root);
    const proc = { args: ['cat', '/etc/hostname'], env: ['A=1'], cwd: '/tmp', terminal: false, user: { uid: 1000, gid: 1000 } };
    const r = await driver.exec('c1', proc, { maxOutputBytes: 1024 });
    expect(r).to.deep.include({ exitCode: 3 });
    expect(r.stdout.toString()).to.equal('out\n');
    expect(r.stderr.toString()).to.equal('err\n');
    const [line] = await invocations();
    const m = new RegExp(`^${globals()} --log=(\\S+)/runtime\\.log exec --process=(\\S+)/process\\.json --pid-file=(\\S+)/pid c1$`).exec(line);
    expect(m, line).to.not.equal(null);
    expect(new Set([m![1], m![2], m![3]]).size, 'one directory per exec').to.equal(1);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'process.seen'), 'utf8'))).to.deep.equal(proc);
    expect(await fs.access(m![1]).then(() => true, () => false), 'exec dir removed').to.equal(false);
  });

  it('prepareExec with a terminal adds --tty; dispose removes its files', async () => {
    const exec = await new RuncDriver(bin, root).prepareExec('c1', { args: ['sh'], terminal: true }, { tty: true });
    expect(exec.file).to.equal(bin);
    const dirOf = path.dirname(exec.pidFile);
    expect(exec.args).to.deep.equal([`--root=${root}`, '--log-format=json', `--log=${dirOf}/runtime.log`, 'exec', `--process=${dirOf}/process.json`, `--pid-file=${dirOf}/pid`, '--tty', 'c1']);
    expect(JSON.parse(await fs.readFile(path.join(dirOf, 'process.json'), 'utf8'))).to.deep.equal({ args: ['sh'], terminal: true });
    await exec.dispose();
    expect(await fs.access(dirOf).then(() => true, () => false)).to.equal(false);
  });

  it('exec: the runtime`s failure (no pid file) is a typed error from its --log', async () => {
    await fs.writeFile(path.join(dir, 'mode'), 'fail');
    const err = await new RuncDriver(bin, root).exec('c1', { args: ['x'] }, { maxOutputBytes: 1024 }).catch((e: unknown) => e);
    expect(errorKindOf(err)).to.equal('NotFound');
    expect(String(err)).to.contain('exec failed: container does not exist');
  });

  it('exec: a process that prints a runtime-like error and exits 255 gets its own exit code', async () => {
    await fs.writeFile(path.join(dir, 'mode'), 'forge');
    const r = await new RuncDriver(bin, root).exec('c1', { args: ['x'] }, { maxOutputBytes: 1024 });
    expect(r.exitCode).to.equal(255);
    expect(r.stderr.toString()).to.contain('level=error');
  });
});
