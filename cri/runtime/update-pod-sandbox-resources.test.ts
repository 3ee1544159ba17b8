import { expect } from 'chai';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import { PodManager } from '../../pod/pod-manager';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { podSandboxHandlers } from './pod-handlers';
import { fakePodManagerOptions } from '../../pod/testing/pod-manager-fixtures';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';
import { rejection } from '../../common/testing/rejection-fixtures';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

describe('cri/runtime UpdatePodSandboxResources', () => {
  let dir: string;
  let manager: PodManager;
  let handlers: ReturnType<typeof podSandboxHandlers>;

  tempDirEach('berth-podres-', async (d) => {
    dir = d;
    for (const h of ['cpu', 'memory']) mkdirSync(path.join(dir, h));
    manager = await PodManager.create(
      fakePodManagerOptions(dir, {
        cgroupHierarchies: [
          { mountPoint: path.join(dir, 'cpu'), version: 1, controllers: ['cpu', 'cpuacct'] },
          { mountPoint: path.join(dir, 'memory'), version: 1, controllers: ['memory'] },
        ],
      }),
    );
    handlers = podSandboxHandlers({ pods: manager });
  });
  afterEach(() => manager.close());

  const run = async (name: string, cgroupParent?: string) =>
    (
      await handlers.RunPodSandbox!(
        { config: { metadata: { name, namespace: 'ns', uid: `u-${name}`, attempt: 0 }, linux: { cgroupParent, securityContext: { namespaceOptions: { pid: runtime.v1.NamespaceMode.POD } } } } },
        call,
      )
    ).podSandboxId!;
  const update = (podSandboxId: string, resources: runtime.v1.ILinuxContainerResources) => handlers.UpdatePodSandboxResources!({ podSandboxId, resources }, call);

  it('writes the limits into the pod cgroup (cgroup_parent, the parent of pause and the containers), not pause\'s leaf', async () => {
    const id = await run('web', '/kubepods/burstable/podu-web');
    expect(await update(id, { cpuShares: 204, cpuQuota: 20000, cpuPeriod: 100000, memoryLimitInBytes: 64 << 20 })).to.deep.equal({});
    const pod = (h: string, f: string) => readFileSync(path.join(dir, h, 'kubepods/burstable/podu-web', f), 'utf8');
    expect(pod('cpu', 'cpu.shares')).to.equal('204');
    expect(pod('cpu', 'cpu.cfs_quota_us')).to.equal('20000');
    expect(pod('cpu', 'cpu.cfs_period_us')).to.equal('100000');
    expect(pod('memory', 'memory.limit_in_bytes')).to.equal(String(64 << 20));
    expect(() => readFileSync(path.join(dir, 'cpu/kubepods/burstable/podu-web', `berth-pod-${id.slice(0, 12)}`, 'cpu.shares'))).to.throw();
  });

  it('unknown pod → NotFound; no id → InvalidArgument; bad field → InvalidArgument naming it', async () => {
    expect(await rejection(update('feedface', { cpuShares: 2 }))).to.be.instanceOf(NotFoundError);
    expect(await rejection(handlers.UpdatePodSandboxResources!({ podSandboxId: '' }, call))).to.be.instanceOf(InvalidArgumentError).with.property('message').match(/^pod_sandbox_id/);
    const id = await run('web', '/kubepods/podu-web');
    const bad = await rejection(update(id, { cpusetCpus: '0;rm' }));
    expect(bad).to.be.instanceOf(InvalidArgumentError);
    expect(bad.message).to.match(/resources\.cpuset_cpus/);
  });

  it('a stopped pod is a successful no-op (as containerd answers); the cgroup is not touched', async () => {
    const id = await run('web', '/kubepods/podu-web');
    await handlers.StopPodSandbox!({ podSandboxId: id }, call);
    expect(await update(id, { cpuShares: 300 })).to.deep.equal({});
    expect(() => readFileSync(path.join(dir, 'cpu/kubepods/podu-web/cpu.shares'))).to.throw();
  });

  it('a pod without cgroup_parent (or with / or berth\'s default parent) shares its cgroup: FailedPrecondition naming the field, nothing written', async () => {
    const id = await run('web');
    const err = await rejection(update(id, { cpuShares: 300 }));
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect(err.message).to.match(/config\.linux\.cgroup_parent is empty/);
    expect(() => readFileSync(path.join(dir, 'cpu/berth/cpu.shares'))).to.throw();
    for (const parent of ['/', '/berth/']) {
      const other = await run(`p${parent.length}`, parent);
      const shared = await rejection(update(other, { cpuShares: 300 }));
      expect(shared, parent).to.be.instanceOf(FailedPreconditionError);
      expect(shared.message).to.match(/is shared with other pods/);
    }
    expect(() => readFileSync(path.join(dir, 'cpu/cpu.shares'))).to.throw();
  });
});
