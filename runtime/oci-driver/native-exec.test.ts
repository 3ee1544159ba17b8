import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { containerExecSpec, execCandidates, SeccompFilterCache, UseRuntimeExec } from './native-exec';
import type { OciProcess } from '../spec/oci-types';

const proc = (extra: Partial<OciProcess> & Record<string, unknown> = {}): OciProcess => ({
  terminal: false,
  user: { uid: 1000, gid: 1000, additionalGids: [29] },
  args: ['sh', '-c', 'true'],
  env: ['PATH=/usr/bin:/bin'],
  cwd: '/work',
  capabilities: { bounding: ['CAP_CHOWN', 'CAP_NET_RAW'], effective: ['CAP_NET_RAW'], permitted: ['CAP_NET_RAW'], inheritable: [], ambient: [] },
  rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 512 }, { type: 'RLIMIT_CORE', hard: 2 ** 64, soft: 2 ** 64 }],
  noNewPrivileges: true,
  ...extra,
});
const init = { pid: process.pid, cgroupProcs: ['/sys/fs/cgroup/x/cgroup.procs'] };

describe('runtime/oci-driver/native-exec', () => {
  it('looks a program name up along the env PATH (last PATH wins, empty element = cwd), a path is used as it is', () => {
    expect(execCandidates('ls', ['PATH=/a', 'PATH=/b::/c'])).to.deep.equal(['/b/ls', 'ls', '/c/ls']);
    expect(execCandidates('./x', ['PATH=/a'])).to.deep.equal(['./x']);
    expect(execCandidates('ls', [])).to.deep.equal(['/usr/local/sbin/ls', '/usr/local/bin/ls', '/usr/sbin/ls', '/usr/bin/ls', '/sbin/ls', '/bin/ls']);
  });

  it('builds the spec: capability masks, rlimits (2^64: unlimited), ids, filters', async () => {
    const filters = [Buffer.alloc(8)];
    const spec = await containerExecSpec(proc(), init, filters);
    if (spec instanceof UseRuntimeExec) throw new Error(spec.reason);
    expect(spec.bounding).to.equal((1n << 0n) | (1n << 13n));
    expect(spec.effective).to.equal(1n << 13n);
    expect(spec.inheritable).to.equal(0n);
    expect(spec.rlimits).to.deep.equal([{ resource: 7, soft: 512n, hard: 1024n }, { resource: 4, soft: 0xffffffffffffffffn, hard: 0xffffffffffffffffn }]);
    expect([spec.uid, spec.gid, spec.additionalGids, spec.cwd, spec.noNewPrivileges]).to.deep.equal([1000, 1000, [29], '/work', true]);
    expect(spec.candidates).to.deep.equal(['/usr/bin/sh', '/bin/sh']);
    expect(spec.seccompFilters).to.equal(filters);
    expect(spec.oomScoreAdj).to.be.a('number');
  });

  it('leaves to runc what it cannot reproduce: an LSM label, a umask, unknown fields or capabilities, a terminal', async () => {
    const cases: Array<[OciProcess, RegExp]> = [
      [proc({ apparmorProfile: 'berth-default' }), /apparmorProfile/],
      [proc({ selinuxLabel: 'system_u:system_r:container_t' }), /selinuxLabel/],
      [proc({ user: { uid: 0, gid: 0, umask: 0o077 } }), /umask/],
      [proc({ ioPriority: { class: 'IOPRIO_CLASS_IDLE' } }), /ioPriority/],
      [proc({ capabilities: { bounding: ['CAP_NOT_A_CAP'], effective: [], permitted: [], inheritable: [], ambient: [] } }), /CAP_NOT_A_CAP/],
      [proc({ rlimits: [{ type: 'RLIMIT_NOPE', hard: 1, soft: 1 }] }), /RLIMIT_NOPE/],
      [proc({ terminal: true }), /terminal/],
    ];
    for (const [p, reason] of cases) {
      const r = await containerExecSpec(p, init, []);
      expect(r, reason.source).to.be.instanceOf(UseRuntimeExec);
      expect((r as UseRuntimeExec).reason).to.match(reason);
    }
  });

  describe('SeccompFilterCache', () => {
    let procRoot: string;
    const status = (pid: number, text: string) => fs.mkdir(path.join(procRoot, String(pid)), { recursive: true }).then(() => fs.writeFile(path.join(procRoot, String(pid), 'status'), text));
    beforeEach(async () => {
      procRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-nexec-'));
    });
    afterEach(() => fs.rm(procRoot, { recursive: true, force: true }));

    it('reads an init once; no filter mode means none; a new init is read again', async () => {
      let reads = 0;
      const cache = new SeccompFilterCache({ readSeccompFilters: async () => (reads++, [Buffer.alloc(8), Buffer.alloc(16)]) }, procRoot);
      await status(10, 'Seccomp:\t2\nSeccomp_filters:\t2\n');
      await status(11, 'Seccomp:\t0\n');
      expect((await cache.get('c1', { pid: 10, start: 5 })) as Buffer[]).to.have.length(2);
      expect((await cache.get('c1', { pid: 10, start: 5 })) as Buffer[]).to.have.length(2);
      expect(reads).to.equal(1);
      expect(await cache.get('c2', { pid: 11, start: 5 })).to.deep.equal([]);
      expect(reads).to.equal(1);
      await cache.get('c1', { pid: 10, start: 6 });
      expect(reads).to.equal(2);
    });

    it('refuses a copy with fewer filters than the init has, and does not keep a failure', async () => {
      let answer: () => Promise<Buffer[]> = async () => [Buffer.alloc(8)];
      const cache = new SeccompFilterCache({ readSeccompFilters: () => answer() }, procRoot);
      await status(10, 'Seccomp:\t2\nSeccomp_filters:\t2\n');
      expect(await cache.get('c1', { pid: 10, start: 5 })).to.be.instanceOf(UseRuntimeExec);
      answer = async () => {
        throw Object.assign(new Error('readSeccompFilters: attach to 10: EPERM'), { code: 'EPERM' });
      };
      const r = await cache.get('c1', { pid: 10, start: 5 });
      expect((r as UseRuntimeExec).reason).to.match(/EPERM/);
      answer = async () => [Buffer.alloc(8), Buffer.alloc(8)];
      expect((await cache.get('c1', { pid: 10, start: 5 })) as Buffer[]).to.have.length(2);
      await status(12, 'Seccomp:\t1\n');
      expect(await cache.get('c3', { pid: 12, start: 1 })).to.be.instanceOf(UseRuntimeExec);
    });
  });
});
