import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, RuntimeError } from '../common/errors';
import type { CgroupHierarchy } from './pod-cgroups';
import { applyPodResources, cgroupWriteError, checkPodResources, cpuWeightFromShares, v1Steps, v2Steps } from './pod-resources';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

const errno = (code: string) => Object.assign(new Error(code), { code });

describe('pod/pod-resources', () => {
  let dir: string;
  tempDirEach('berth-pod-res-', (d) => (dir = d));

  /** A hybrid-like host: v1 cpu,cpuacct / cpuset / memory / name=systemd plus a v2 mount. */
  function hosts(v2Controllers: string | undefined): CgroupHierarchy[] {
    const hs: CgroupHierarchy[] = [
      { mountPoint: path.join(dir, 'cpu,cpuacct'), version: 1, controllers: ['cpu', 'cpuacct'] },
      { mountPoint: path.join(dir, 'cpuset'), version: 1, controllers: ['cpuset'] },
      { mountPoint: path.join(dir, 'memory'), version: 1, controllers: ['memory'] },
      { mountPoint: path.join(dir, 'systemd'), version: 1, controllers: ['name=systemd'] },
      { mountPoint: path.join(dir, 'unified'), version: 2, controllers: [] },
    ];
    for (const h of hs) mkdirSync(path.join(h.mountPoint, 'kubepods/pod1'), { recursive: true });
    writeFileSync(path.join(dir, 'memory/kubepods/pod1/memory.memsw.limit_in_bytes'), '9223372036854771712');
    if (v2Controllers !== undefined) {
      writeFileSync(path.join(dir, 'unified/kubepods/pod1/cgroup.controllers'), v2Controllers);
      writeFileSync(path.join(dir, 'unified/kubepods/pod1/cpu.max'), 'max 100000\n');
    }
    return hs;
  }
  const read = (rel: string) => readFileSync(path.join(dir, rel), 'utf8');

  it('writes cpu, cpuset and memory (with memsw = no swap) into the v1 pod cgroup, nothing into a controller-less v2 mount', async () => {
    await applyPodResources(hosts(''), '/kubepods/pod1', {
      cpuShares: 512,
      cpuQuota: 50000,
      cpuPeriod: 100000,
      cpusetCpus: '0-1',
      cpusetMems: '0',
      memoryLimitInBytes: 256 * 1024 * 1024,
    });
    expect(read('cpu,cpuacct/kubepods/pod1/cpu.shares')).to.equal('512');
    expect(read('cpu,cpuacct/kubepods/pod1/cpu.cfs_period_us')).to.equal('100000');
    expect(read('cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us')).to.equal('50000');
    expect(read('cpuset/kubepods/pod1/cpuset.cpus')).to.equal('0-1');
    expect(read('cpuset/kubepods/pod1/cpuset.mems')).to.equal('0');
    expect(read('memory/kubepods/pod1/memory.limit_in_bytes')).to.equal(String(256 * 1024 * 1024));
    expect(read('memory/kubepods/pod1/memory.memsw.limit_in_bytes')).to.equal(String(256 * 1024 * 1024));
    expect(() => read('systemd/kubepods/pod1/cpu.shares')).to.throw();
    expect(() => read('unified/kubepods/pod1/memory.max')).to.throw();
    expect(read('unified/kubepods/pod1/cpu.max')).to.equal('max 100000\n'); // cgroup.controllers lists none
  });

  it('writes v2 files only for the controllers cgroup.controllers lists; a period alone keeps the quota', async () => {
    const hs = hosts('cpu memory');
    writeFileSync(path.join(dir, 'unified/kubepods/pod1/cpu.max'), '20000 100000\n');
    await applyPodResources(hs.filter((h) => h.version === 2), '/kubepods/pod1', { cpuShares: 1024, cpuPeriod: 50000, cpusetCpus: '0', memoryLimitInBytes: 1 << 30, memorySwapLimitInBytes: (1 << 30) + 4096 });
    expect(read('unified/kubepods/pod1/cpu.weight')).to.equal('39');
    expect(read('unified/kubepods/pod1/cpu.max')).to.equal('20000 50000');
    expect(read('unified/kubepods/pod1/memory.max')).to.equal(String(1 << 30));
    expect(read('unified/kubepods/pod1/memory.swap.max')).to.equal('4096');
    expect(() => read('unified/kubepods/pod1/cpuset.cpus')).to.throw(); // cpuset not listed
  });

  it('builds the v2 cpu.max and weight the way runc does', () => {
    expect(cpuWeightFromShares(2)).to.equal(1);
    expect(cpuWeightFromShares(1024)).to.equal(39);
    expect(cpuWeightFromShares(262144)).to.equal(10000);
    expect(v2Steps(['cpu'], { cpuQuota: -1, cpuPeriod: 100000 })).to.deep.equal([[{ file: 'cpu.max', value: 'max 100000', field: 'cpu_quota' }]]);
    expect(v2Steps(['cpu'], { cpuQuota: 30000 })).to.deep.equal([[{ file: 'cpu.max', value: '30000', field: 'cpu_quota' }]]);
    expect(v1Steps(['memory'], { memoryLimitInBytes: 100, memorySwapLimitInBytes: 300 }, true)[0].map((w) => w.value)).to.deep.equal(['100', '300']);
    expect(v1Steps(['memory'], { memoryLimitInBytes: 100 }, false)).to.have.length(1);
    expect(v1Steps(['cpu'], {}, false)).to.deep.equal([]);
  });

  it('leaves unset fields alone; a v2 dir without cgroup.controllers gets nothing', async () => {
    const hs = hosts(undefined);
    writeFileSync(path.join(dir, 'cpu,cpuacct/kubepods/pod1/cpu.shares'), '2');
    await applyPodResources(hs, '/kubepods/pod1', { memoryLimitInBytes: 4096 * 1024 });
    expect(read('cpu,cpuacct/kubepods/pod1/cpu.shares')).to.equal('2');
    expect(read('memory/kubepods/pod1/memory.limit_in_bytes')).to.equal(String(4096 * 1024));
    expect(() => read('unified/kubepods/pod1/memory.max')).to.throw();
  });

  it('refuses a missing pod cgroup with FailedPrecondition naming the directory', async () => {
    const err = await applyPodResources(hosts(''), '/kubepods/gone', { cpuShares: 2 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect((err as Error).message).to.match(/cpu,cpuacct\/kubepods\/gone does not exist/);
  });

  it('refuses malformed fields before touching any file, naming the field', () => {
    const cases: [object, RegExp][] = [
      [{ cpusetCpus: '0-1\n' }, /^resources\.cpuset_cpus: .* is not a cpuset list/],
      [{ cpusetMems: 'x'.repeat(30_000) }, /^resources\.cpuset_mems: is 30000 characters/],
      [{ cpuQuota: -2 }, /^resources\.cpu_quota: -2 is below -1/],
      [{ cpuQuota: 999 }, /^resources\.cpu_quota: 999 µs is below the kernel's minimum/],
      [{ cpuPeriod: 2_000_000 }, /^resources\.cpu_period: 2000000 µs is outside 1000\.\.1000000/],
      [{ memoryLimitInBytes: 1.5 }, /^resources\.memory_limit_in_bytes: 1\.5 is not an integer/],
      [{ memoryLimitInBytes: 200, memorySwapLimitInBytes: 100 }, /^resources\.memory_swap_limit_in_bytes: 100 is below memory_limit_in_bytes 200/],
    ];
    for (const [r, re] of cases) {
      expect(() => checkPodResources(r)).to.throw(InvalidArgumentError, re);
    }
  });

  it('retries a CFS pair in the other order when the kernel says EINVAL to the first', async () => {
    const hs = hosts('');
    // A directory where cpu.cfs_period_us should be: the first write fails (EISDIR, not EINVAL) and is not retried.
    mkdirSync(path.join(dir, 'cpu,cpuacct/kubepods/pod1/cpu.cfs_period_us'));
    const err = await applyPodResources(hs, '/kubepods/pod1', { cpuPeriod: 100000, cpuQuota: 5000 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RuntimeError);
    expect((err as Error).message).to.match(/cpu\.cfs_period_us = 100000/);
  });

  it('maps the kernel answers: EBUSY on memory is usage, EINVAL on CFS a hierarchy conflict, other EINVAL a refused value, all naming the field', () => {
    const mem = cgroupWriteError('/cg/pod', { file: 'memory.limit_in_bytes', value: '4096', field: 'memory_limit_in_bytes' }, errno('EBUSY'));
    expect(mem).to.be.instanceOf(FailedPreconditionError);
    expect(mem.message).to.match(/^resources\.memory_limit_in_bytes: 4096 is below the pod's current memory usage/);
    const cpuset = cgroupWriteError('/cg/pod', { file: 'cpuset.cpus', value: '0', field: 'cpuset_cpus' }, errno('EBUSY'));
    expect(cpuset).to.be.instanceOf(FailedPreconditionError);
    const quota = cgroupWriteError('/cg/pod', { file: 'cpu.cfs_quota_us', value: '10000', field: 'cpu_quota' }, errno('EINVAL'));
    expect(quota).to.be.instanceOf(FailedPreconditionError);
    expect(quota.message).to.match(/^resources\.cpu_quota: 10000 conflicts with the CPU quota of a container/);
    const mems = cgroupWriteError('/cg/pod', { file: 'cpuset.mems', value: '7', field: 'cpuset_mems' }, errno('EINVAL'));
    expect(mems).to.be.instanceOf(InvalidArgumentError);
    expect(mems.message).to.match(/^resources\.cpuset_mems: the kernel refused 7/);
    expect(cgroupWriteError('/cg/pod', { file: 'cpu.shares', value: '2', field: 'cpu_shares' }, errno('EIO'))).to.be.instanceOf(RuntimeError);
  });
});
