/**
 * The process an exec starts is confined exactly like the container's own process (real runc,
 * root). For ExecSync, a streaming exec and a terminal exec, the exec'd command reads its own
 * /proc/self entries and the test compares them with the container's init, read from the host:
 * namespaces (every /proc/<pid>/ns link), cgroup membership, CapEff/CapPrm/CapBnd/CapInh/CapAmb,
 * `Seccomp: 2` with as many filters (and a syscall the default profile refuses failing), NoNewPrivs,
 * uid/gid/groups, rlimits, oom_score_adj, the LSM label, env and cwd.
 * An unconfined control container shows the refused syscall does work without the profile, so
 * the seccomp check can fail.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import { Writable } from 'node:stream';
import { loadNativeBinding } from '../../native/addon';
import type { ContainerConfigInput, ContainerSecurityInput } from '../../runtime/spec/inputs';
import { createRuntimeEnv, destroyRuntimeEnv, sh, type RuntimeEnv } from './runtime-support';

/** The /proc/<pid>/status fields that carry the process's confinement. */
const STATUS_FIELDS = ['Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters'];

function statusFields(status: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of status.split('\n')) {
    const m = /^([A-Za-z_]+):\s*(.*)$/.exec(line);
    if (m && STATUS_FIELDS.includes(m[1])) out[m[1]] = m[2].trim().replace(/\s+/g, ' ');
  }
  return out;
}

/** `ls -l /proc/self/ns` output → { name: link target }. */
function nsLinks(listing: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of listing.split('\n')) {
    const m = /\s(\w+) -> (\S+)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Collects what is written to it. */
class Collect extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

type ExecPath = 'ExecSync' | 'streaming exec' | 'terminal exec';

describe('e2e: an exec is confined like the container`s own process', function () {
  this.timeout(120_000);
  let env: RuntimeEnv;
  const ids: Record<string, string> = {};
  let seq = 0;

  function config(security: ContainerSecurityInput, workingDir = ''): ContainerConfigInput {
    const name = `conf${++seq}`;
    return {
      name, attempt: 0, image: 'busybox:e2e', command: ['sleep', '3600'], args: [], workingDir, envs: [{ key: 'CONFINED_ENV', value: `v${seq}` }], mounts: [], devices: [],
      labels: {}, annotations: {}, logPath: `${name}.log`, stdin: false, stdinOnce: false, tty: false, security,
    };
  }

  before(async () => {
    env = await createRuntimeEnv();
    // The shared runtime env injects only mount/unmount; a terminal exec needs the pty calls too.
    const addon = loadNativeBinding();
    Object.assign(env.native, {
      openPty: () => addon.openPty(),
      setWindowSize: (fd: number, rows: number, cols: number) => addon.setWindowSize(fd, rows, cols),
      streamFd: addon.streamFd.bind(addon),
    });
    const containers: Record<string, ContainerConfigInput> = {
      // root with a changed capability set
      root: config({ seccomp: { type: 'RuntimeDefault' }, noNewPrivs: true, capabilities: { add: ['NET_RAW', 'SYS_PTRACE'], drop: ['CHOWN'] } }, '/tmp'),
      // a user with supplementary groups
      user: config({ seccomp: { type: 'RuntimeDefault' }, noNewPrivs: true, runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [29, 33] }, '/home/user'),
      unconfined: config({ seccomp: { type: 'Unconfined' } }),
    };
    for (const [key, c] of Object.entries(containers)) {
      ids[key] = await env.manager.createContainer(env.pod.id, c);
      await env.manager.startContainer(ids[key]);
    }
  });

  after(async () => {
    if (env) await destroyRuntimeEnv(env);
  });

  async function initPid(id: string): Promise<number> {
    const state = JSON.parse(await sh('/usr/sbin/runc', ['--root', env.runcRoot, 'state', id])) as { pid: number };
    expect(state.pid).to.be.above(0);
    return state.pid;
  }

  /** Runs `cmd` in container `id` through `how`; resolves with its stdout and exit code. */
  async function run(how: ExecPath, id: string, cmd: string[]): Promise<{ out: string; exitCode: number }> {
    if (how === 'ExecSync') {
      const r = await env.manager.execSync(id, cmd, 30);
      return { out: r.stdout.toString(), exitCode: r.exitCode };
    }
    const stdout = new Collect();
    const stderr = new Collect();
    const tty = how === 'terminal exec';
    const r = await env.manager.exec(id, cmd, { stdout, stderr: tty ? undefined : stderr, tty }, new AbortController().signal);
    // a terminal turns "\n" into "\r\n"
    return { out: tty ? stdout.text().replace(/\r\n/g, '\n') : stdout.text(), exitCode: r.exitCode };
  }

  async function ok(how: ExecPath, id: string, cmd: string[]): Promise<string> {
    const r = await run(how, id, cmd);
    expect(r.exitCode, `${cmd.join(' ')}: ${r.out}`).to.equal(0);
    return r.out;
  }

  for (const how of ['ExecSync', 'streaming exec', 'terminal exec'] as const) {
    for (const which of ['root', 'user'] as const) {
      it(`${how} (${which} container): same namespaces, cgroup, capabilities, seccomp, no_new_privs, ids, rlimits, oom_score_adj and LSM label as the container's init`, async () => {
        const id = ids[which];
        const pid = await initPid(id);
        // namespaces: the exec'd `ls` lists its own links
        const hostNs: Record<string, string> = {};
        for (const name of await fs.readdir(`/proc/${pid}/ns`)) hostNs[name] = await fs.readlink(`/proc/${pid}/ns/${name}`);
        expect(nsLinks(await ok(how, id, ['ls', '-l', '/proc/self/ns/']))).to.deep.equal(hostNs);
        // credentials, capabilities, seccomp, no_new_privs
        const init = statusFields(await fs.readFile(`/proc/${pid}/status`, 'utf8'));
        const exec = statusFields(await ok(how, id, ['cat', '/proc/self/status']));
        expect(exec).to.deep.equal(init);
        expect(exec.Seccomp).to.equal('2');
        expect(Number(exec.Seccomp_filters)).to.be.above(0);
        expect(exec.NoNewPrivs).to.equal('1');
        if (which === 'root') {
          const bnd = BigInt(`0x${exec.CapBnd}`);
          expect((bnd >> 13n) & 1n, 'CAP_NET_RAW added').to.equal(1n);
          expect(bnd & 1n, 'CAP_CHOWN dropped').to.equal(0n);
        } else {
          expect(exec.Uid.split(' ')[0]).to.equal('1000');
          expect(exec.Gid.split(' ')[0]).to.equal('1000');
          expect(exec.Groups.split(' ')).to.include.members(['29', '33']);
        }
        // cgroup: the same lines as the init's, in the same cgroup namespace
        const [self, initCg] = (await ok(how, id, ['sh', '-c', 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'])).split('---\n');
        expect(self.trim()).to.equal(initCg.trim());
        expect(self.trim()).to.not.equal('');
        // rlimits, oom_score_adj, LSM label
        expect(await ok(how, id, ['cat', '/proc/self/limits'])).to.equal(await fs.readFile(`/proc/${pid}/limits`, 'utf8'));
        expect((await ok(how, id, ['cat', '/proc/self/oom_score_adj'])).trim()).to.equal((await fs.readFile(`/proc/${pid}/oom_score_adj`, 'utf8')).trim());
        const hostLabel = await fs.readFile(`/proc/${pid}/attr/current`, 'utf8').catch(() => '');
        expect((await run(how, id, ['sh', '-c', 'cat /proc/self/attr/current 2>/dev/null; true'])).out.replace(/\n$/, '')).to.equal(hostLabel.replace(/\n$/, ''));
      });
    }

    it(`${how}: a syscall the default seccomp profile refuses fails in the exec (and works unconfined)`, async () => {
      const blocked = await run(how, ids.root, ['unshare', '-U', 'true']);
      expect(blocked.exitCode).to.not.equal(0);
      const control = await run(how, ids.unconfined, ['unshare', '-U', 'true']);
      expect(control.exitCode).to.equal(0);
    });

    it(`${how}: the container's env and working directory`, async () => {
      const env1 = await ok(how, ids.root, ['env']);
      expect(env1).to.match(/^CONFINED_ENV=v1$/m);
      expect(env1).to.match(/^FROM_IMAGE=yes$/m);
      expect((await ok(how, ids.root, ['pwd'])).trim()).to.equal('/tmp');
      expect((await ok(how, ids.user, ['pwd'])).trim()).to.equal('/home/user');
    });
  }
});
