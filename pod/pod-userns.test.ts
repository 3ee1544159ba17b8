/** PodManager with user namespaces against FakeNativeBinding: maps reach pause, the namespace is pinned, files and shm are the pod root's. */
import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { lstatSync } from 'node:fs';
import * as path from 'node:path';
import type { PauseSpec } from '../native/binding';
import { PodManager } from './pod-manager';
import { NamespaceMode, PodSandboxConfigInput } from './types';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { fakePodManagerOptions, recordingProcesses } from './testing/pod-manager-fixtures';

const BASE = 131072;
const range = { hostId: BASE, containerId: 0, length: 65536 };
const config: PodSandboxConfigInput = {
  metadata: { name: 'p', namespace: 'n', uid: 'u' },
  linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.POD, usernsOptions: { mode: NamespaceMode.POD, uids: [range], gids: [range] } } } },
};

describe('pod/pod-manager: user namespaces (FakeNativeBinding)', () => {
  let dir: string;
  let native: FakeNativeBinding;

  async function manager(userNamespaces: boolean): Promise<PodManager> {
    return PodManager.create(
      fakePodManagerOptions(dir, { native, processes: recordingProcesses(native), ...(userNamespaces ? { userNamespaces: (h: string) => h === 'runc' } : {}) }, ''),
    );
  }

  /** Runs `body` with a manager and closes it after, whatever happens. */
  async function withManager(userNamespaces: boolean, body: (pods: PodManager) => Promise<void>): Promise<void> {
    const pods = await manager(userNamespaces);
    try {
      await body(pods);
    } finally {
      pods.close();
    }
  }

  tempDirEach('berth-poduserns-', (d) => {
    dir = d;
    native = new FakeNativeBinding({ firstPid: 7_100_000 });
  });

  it('refuses the pod, starting nothing, when the handler has no user namespace support', async () => {
    await withManager(false, async (pods) => {
    const err = await pods.runPodSandbox(config, '').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/^config\.linux\.security_context\.namespace_options\.userns_options: runtime handler "runc" does not support/);
    expect(native.callsOf('startPause')).to.have.length(0);
    expect(native.activeMounts()).to.have.length(0);
    });
  });

  it("starts pause with the pod's maps, pins its user namespace, gives shm and pod files to the pod's root; remove undoes it (as root: lchown)", async () => {
    await withManager(true, async (pods) => {
    const id = await pods.runPodSandbox(config, '');
    const [spec] = native.callsOf('startPause')[0].args as [PauseSpec];
    expect(spec.userNamespace).to.deep.equal({ uids: [range], gids: [range] });
    expect(spec.namespaces, "'user' is not a namespace pause is asked to clone: the maps say so").to.have.members(['net', 'uts', 'ipc', 'pid']);
    // Its user namespace must own the netns, so pause makes it (no netns made before it).
    expect(spec).to.not.have.property('netns');
    expect(native.callsOf('createNetns')).to.have.length(0);
    const pid = native.liveProcesses()[0].pid;
    const mounts = native.activeMounts();
    expect(mounts.map((m) => `${m.source} -> ${path.relative(dir, m.target)}`)).to.include(`/proc/${pid}/ns/user -> run/ns/user/${id}`);
    expect(mounts.find((m) => m.fstype === 'tmpfs')?.data).to.match(new RegExp(`,uid=${BASE},gid=${BASE}$`));
    const info = pods.getSandbox(id)!;
    expect(info.userNamespace).to.deep.equal({ uids: [range], gids: [range] });
    expect(info.namespacePaths.user).to.equal(path.join(dir, 'run', 'ns', 'user', id));
    for (const file of [info.hostsPath, info.resolvConfPath, info.hostnamePath]) expect(lstatSync(file).uid, file).to.equal(BASE);
    await pods.stopPodSandbox(id);
    await pods.removePodSandbox(id);
    expect(native.activeMounts()).to.have.length(0);
    });
  });

  it('refuses a second pod whose host ids overlap a live pod, but lets the same pod be retried', async () => {
    await withManager(true, async (pods) => {
    const id = await pods.runPodSandbox(config, '');
    expect(await pods.runPodSandbox(config, ''), 'a retry of the same pod joins it').to.equal(id);
    const other: PodSandboxConfigInput = { ...config, metadata: { name: 'q', namespace: 'n', uid: 'u2' } };
    const err = await pods.runPodSandbox(other, '').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.equal(`config.linux.security_context.namespace_options.userns_options.uids: host ids ${BASE}+65536 are already used by pod sandbox ${id}`);
    expect(native.callsOf('startPause')).to.have.length(1);
    await pods.stopPodSandbox(id);
    await pods.removePodSandbox(id);
    expect(await pods.runPodSandbox(other, ''), 'free again once the first pod is removed').to.be.a('string');
    });
  });

  it('of two concurrent pods asking for the same host ids, exactly one starts', async () => {
    await withManager(true, async (pods) => {
    const second: PodSandboxConfigInput = { ...config, metadata: { name: 'r', namespace: 'n', uid: 'u3' } };
    const results = await Promise.allSettled([pods.runPodSandbox(config, ''), pods.runPodSandbox(second, '')]);
    expect(results.map((r) => r.status).sort()).to.deep.equal(['fulfilled', 'rejected']);
    expect(native.callsOf('startPause')).to.have.length(1);
    });
  });
});
