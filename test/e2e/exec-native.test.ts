/**
 * ExecSync without runc (runtime/oci-driver/native-exec.ts, the addon's execInContainer) against
 * runc exec itself, on real containers: the exec'd process runs under byte-identical seccomp
 * filters (also when the filter is installed before the capability drop, without no_new_privs),
 * a refused syscall fails the same way, a missing or unexecutable program gives runc's error, a
 * signal gives runc's exit code, and an init that cannot be traced sends the exec to runc.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { describeError, errorKindOf, type BerthError } from '../../common/errors';
import { loadNativeBinding } from '../../native/addon';
import { RuncDriver } from '../../runtime/oci-driver/runc-driver';
import type { ContainerConfigInput, ContainerSecurityInput } from '../../runtime/spec/inputs';
import { createRuntimeEnv, destroyRuntimeEnv, sh, type RuntimeEnv } from './runtime-support';

const RUNC = '/usr/sbin/runc';

describe('e2e: ExecSync without runc matches runc exec', function () {
  this.timeout(120_000);
  let env: RuntimeEnv;
  const ids: Record<string, string> = {};
  let seq = 0;

  function config(security: ContainerSecurityInput): ContainerConfigInput {
    const name = `nexec${++seq}`;
    return {
      name, attempt: 0, image: 'busybox:e2e', command: ['sleep', '3600'], args: [], workingDir: '', envs: [], mounts: [], devices: [],
      labels: {}, annotations: {}, logPath: `${name}.log`, stdin: false, stdinOnce: false, tty: false, security,
    };
  }

  before(async () => {
    env = await createRuntimeEnv();
    const containers: Record<string, ContainerConfigInput> = {
      nnp: config({ seccomp: { type: 'RuntimeDefault' }, noNewPrivs: true }),
      // without no_new_privs the filter must be installed while still privileged
      privs: config({ seccomp: { type: 'RuntimeDefault' }, noNewPrivs: false, runAsUser: 1000, runAsGroup: 1000 }),
      traced: config({ seccomp: { type: 'RuntimeDefault' }, noNewPrivs: true }),
      // could ptrace the exec'd process while it still shares berthd's memory
      ptracer: config({ seccomp: { type: 'RuntimeDefault' }, noNewPrivs: true, capabilities: { add: ['SYS_PTRACE'], drop: [] } }),
    };
    for (const [key, c] of Object.entries(containers)) {
      ids[key] = await env.manager.createContainer(env.pod.id, c);
      await env.manager.startContainer(ids[key]);
    }
  });

  after(async () => {
    if (env) await destroyRuntimeEnv(env);
  });

  /** An error's message and those of its causes. */
  function messageChain(err: unknown): string {
    const parts: string[] = [];
    for (let e = err; e instanceof Error; e = e.cause) parts.push(e.message);
    return parts.join(': ');
  }

  /** runc's own words in a driver error: `runc exec <id>: <this>`. */
  function runcMessageOf(err: Error): string {
    return err.message.replace(/^runc exec \S+: /, '').replace(/ \(exit \d+\)$/, '');
  }

  async function runcState(id: string): Promise<{ pid: number; bundle: string }> {
    return JSON.parse(await sh(RUNC, ['--root', env.runcRoot, 'state', id])) as { pid: number; bundle: string };
  }

  /** The same exec through `runc exec` (a driver without the addon), with ExecSync's process. */
  async function runcExec(id: string, cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const spec = JSON.parse(await fs.readFile(`${(await runcState(id)).bundle}/config.json`, 'utf8')) as { process: Record<string, unknown> };
    const proc: Record<string, unknown> = { ...spec.process, args: cmd, terminal: false };
    delete proc.oomScoreAdj;
    const r = await new RuncDriver(RUNC, env.runcRoot).exec(id, proc, { maxOutputBytes: 1 << 20 });
    return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  async function nativeExec(id: string, cmd: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const before = env.native.nativeExecs;
    const r = await env.manager.execSync(id, cmd, 30);
    expect(env.native.nativeExecs, 'ExecSync went through execInContainer').to.equal(before + 1);
    return { exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  for (const which of ['nnp', 'privs'] as const) {
    it(`(${which}) the exec'd process runs under the init's seccomp filters, byte for byte, with the init's status`, async () => {
      const addon = loadNativeBinding();
      const { pid } = await runcState(ids[which]);
      const running = env.manager.execSync(ids[which], ['sh', '-c', 'sleep 1; cat /proc/self/status'], 30);
      for (let i = 0; i < 100 && env.native.nativeExecPids.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const execPid = env.native.nativeExecPids[env.native.nativeExecPids.length - 1];
      const [mine, theirs] = await Promise.all([addon.readSeccompFilters(execPid), addon.readSeccompFilters(pid)]);
      const r = await running;
      env.native.nativeExecPids.length = 0;
      expect(theirs.length).to.be.above(0);
      expect(mine.map((b) => b.toString('hex'))).to.deep.equal(theirs.map((b) => b.toString('hex')));
      const fields = (s: string) => s.split('\n').filter((l) => /^(Uid|Gid|Groups|Cap\w+|NoNewPrivs|Seccomp\w*):/.test(l)).join('\n');
      expect(fields(r.stdout.toString())).to.equal(fields(await fs.readFile(`/proc/${pid}/status`, 'utf8')));
      // and the same as what runc exec gives
      expect(fields((await runcExec(ids[which], ['cat', '/proc/self/status'])).stdout)).to.equal(fields(r.stdout.toString()));
    });
  }

  it('the exec takes the init\'s oom_score_adj; berthd keeps its own', async () => {
    const own = (await fs.readFile('/proc/self/oom_score_adj', 'utf8')).trim();
    const { pid } = await runcState(ids.nnp);
    const init = (await fs.readFile(`/proc/${pid}/oom_score_adj`, 'utf8')).trim();
    // a value of ours the init does not have, so a write meant for the exec that lands on us shows
    const mine = init === '123' ? '124' : '123';
    await fs.writeFile('/proc/self/oom_score_adj', mine);
    try {
      expect((await nativeExec(ids.nnp, ['cat', '/proc/self/oom_score_adj'])).stdout.trim()).to.equal(init);
      expect((await fs.readFile('/proc/self/oom_score_adj', 'utf8')).trim()).to.equal(mine);
    } finally {
      await fs.writeFile('/proc/self/oom_score_adj', own);
    }
  });

  it('a syscall the profile refuses fails the same way as under runc exec', async () => {
    const cmd = ['sh', '-c', 'unshare -U true 2>&1; echo "exit $?"'];
    const native = await nativeExec(ids.nnp, cmd);
    expect(native.stdout).to.match(/exit [1-9]/);
    expect(native).to.deep.equal(await runcExec(ids.nnp, cmd));
  });

  it('exit codes, a signal (128+n), stdout and stderr as runc exec reports them', async () => {
    for (const cmd of [['sh', '-c', 'echo out; echo err >&2; exit 7'], ['sh', '-c', 'kill -9 $$'], ['true']]) {
      expect(await nativeExec(ids.privs, cmd), cmd.join(' ')).to.deep.equal(await runcExec(ids.privs, cmd));
    }
  });

  it('a missing or unexecutable program: the same typed error and message as runc exec', async () => {
    for (const cmd of [['no-such-program'], ['/no/such/program'], ['/etc/passwd']]) {
      const before = env.native.nativeExecs;
      const native = await env.manager.execSync(ids.nnp, cmd, 10).then(() => undefined, (e: BerthError) => e);
      expect(env.native.nativeExecs).to.equal(before);
      const viaRunc = await runcExec(ids.nnp, cmd).then(() => undefined, (e: BerthError) => e);
      expect(native, cmd[0]).to.be.instanceOf(Error);
      expect(viaRunc, cmd[0]).to.be.instanceOf(Error);
      expect(errorKindOf(native), cmd[0]).to.equal(errorKindOf(viaRunc));
      expect(errorKindOf(native), cmd[0]).to.equal('InvalidArgument');
      expect(messageChain(native!), cmd[0]).to.include(runcMessageOf(viaRunc!));
    }
  });

  it('an init traced by another process: ExecSync runs runc exec instead (still confined)', async () => {
    const { pid } = await runcState(ids.traced);
    // PTRACE_SEIZE from another process: berthd's own seize then fails with EPERM
    const tracer = spawn('python3', ['-c', `import ctypes,sys,time\nlibc=ctypes.CDLL(None,use_errno=True)\nrc=libc.ptrace(0x4206,${pid},None,None)\nprint(rc,ctypes.get_errno(),flush=True)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let line = '';
      for await (const chunk of tracer.stdout) if ((line += String(chunk)).includes('\n')) break;
      expect(line.trim()).to.equal('0 0');
      const before = env.native.nativeExecs;
      const r = await env.manager.execSync(ids.traced, ['cat', '/proc/self/status'], 10);
      expect(env.native.nativeExecs, 'runc ran it').to.equal(before);
      expect(r.exitCode).to.equal(0);
      expect(r.stdout.toString()).to.match(/^Seccomp:\s+2$/m);
      expect(r.stdout.toString()).to.match(/^NoNewPrivs:\s+1$/m);
    } finally {
      tracer.kill('SIGKILL');
      await new Promise((r) => tracer.once('exit', r));
    }
    // untraced again: the addon takes over
    await nativeExec(ids.traced, ['true']);
  });

  it('a container that may hold CAP_SYS_PTRACE (host user namespace): ExecSync runs runc exec', async () => {
    const before = env.native.nativeExecs;
    const r = await env.manager.execSync(ids.ptracer, ['cat', '/proc/self/status'], 10);
    expect(env.native.nativeExecs, 'runc ran it').to.equal(before);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.toString()).to.match(/^Seccomp:\s+2$/m);
    const bnd = /^CapBnd:\s+([0-9a-f]+)$/m.exec(r.stdout.toString());
    expect((BigInt(`0x${bnd?.[1]}`) >> 19n) & 1n, 'CAP_SYS_PTRACE').to.equal(1n);
  });

  it('a paused (frozen) container: ExecSync gives the answer of runc exec instead of hanging; resumed, the addon runs it again', async () => {
    await sh(RUNC, ['--root', env.runcRoot, 'pause', ids.privs]);
    try {
      const before = env.native.nativeExecs;
      const err = await env.manager.execSync(ids.privs, ['true'], 5).then(() => undefined, (e: Error) => e);
      expect(env.native.nativeExecs).to.equal(before);
      // runc exec's own answer
      expect(describeError(err)).to.match(/cannot exec in a paused container/);
    } finally {
      await sh(RUNC, ['--root', env.runcRoot, 'resume', ids.privs]);
    }
    expect((await nativeExec(ids.privs, ['true'])).exitCode).to.equal(0);
  });

  it('readSeccompFilters of a frozen process gives up after 2 s (no pool thread held) and leaves it untraced once thawed', async () => {
    const addon = loadNativeBinding();
    const { pid } = await runcState(ids.traced);
    await sh(RUNC, ['--root', env.runcRoot, 'pause', ids.traced]);
    let err: (Error & { code?: string }) | undefined;
    const t0 = Date.now();
    try {
      err = await addon.readSeccompFilters(pid).then(() => undefined, (e: Error) => e);
    } finally {
      await sh(RUNC, ['--root', env.runcRoot, 'resume', ids.traced]);
    }
    expect(Date.now() - t0).to.be.below(4000);
    expect(err?.code).to.equal('ETIMEDOUT');
    // thawed, it reaches the stop; the reading thread then detaches
    let tracer = '';
    for (let i = 0; i < 100; i++) {
      tracer = /^TracerPid:\s*(\d+)$/m.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
      if (tracer === '0') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(tracer).to.equal('0');
    expect(/^State:\s*S/m.test(await fs.readFile(`/proc/${pid}/status`, 'utf8'))).to.equal(true);
    expect(await addon.readSeccompFilters(pid)).to.have.length.above(0);
  });
});
