/** PodManager against native/'s FakeNativeBinding: the exact syscall-level calls it makes. */
import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import * as path from 'node:path';
import type { PauseSpec } from '../native/binding';
import { PodManager } from './pod-manager';
import { FakePodNetwork } from './testing/fake-pod-network';
import { NamespaceMode } from './types';
import { fakePodManagerOptions, recordingProcesses } from './testing/pod-manager-fixtures';
import { tempDirEach } from './../common/testing/temp-dir-fixtures';

describe('pod/pod-manager with FakeNativeBinding', () => {
  let dir: string;
  let native: FakeNativeBinding;
  let network: FakePodNetwork;
  let manager: PodManager;

  tempDirEach('berth-podrec-', async (d) => {
    dir = d;
    native = new FakeNativeBinding({ firstPid: 7_000_000 });
    network = new FakePodNetwork();
    manager = await PodManager.create(fakePodManagerOptions(dir, { native, network, processes: recordingProcesses(native) }, ''));
  });
  afterEach(() => manager.close());

  it('mounts shm, makes a netns, starts pause in it and new uts+ipc+pid, pins four namespaces; remove undoes all of it', async () => {
    const id = await manager.runPodSandbox(
      {
        metadata: { name: 'p', namespace: 'n', uid: 'u' },
        hostname: 'p-host',
        linux: { sysctls: { 'kernel.msgmax': '65536' }, securityContext: { namespaceOptions: { pid: NamespaceMode.POD } } },
      },
      '',
    );
    const [spec] = native.callsOf('startPause')[0].args as [PauseSpec];
    expect(spec.namespaces).to.have.members(['uts', 'ipc', 'pid']);
    expect(spec).to.deep.include({ hostname: 'p-host', uid: 65535, gid: 65535, sysctls: { 'kernel.msgmax': '65536' }, netns: path.join(dir, 'run/ns/net', id) });
    const pid = native.liveProcesses()[0].pid;
    const mounts = native.activeMounts().map((m) => `${m.fstype} ${m.source} -> ${path.relative(dir, m.target)}`);
    expect(mounts).to.have.members([
      `tmpfs shm -> run/pods/${id}/shm`,
      `nsfs net -> run/ns/net/${id}`,
      ...['uts', 'ipc', 'pid'].map((k) => `none /proc/${pid}/ns/${k} -> run/ns/${k}/${id}`),
    ]);
    expect(native.callsOf('watchExit')).to.have.length(1);

    await manager.stopPodSandbox(id);
    expect(native.liveProcesses()).to.deep.equal([]);
    expect(native.activeMounts()).to.have.length(4); // pins stay until remove
    await manager.removePodSandbox(id);
    expect(native.activeMounts()).to.deep.equal([]);
    expect(network.attached.size).to.equal(0);
  });

  it('rolls back when the native layer fails at pause or at a pin', async () => {
    native.fail('startPause', 'EPERM', 1);
    let caught: Error | undefined;
    await manager.runPodSandbox({ metadata: { name: 'a', namespace: 'n', uid: 'u' } }, '').catch((e) => (caught = e));
    expect(caught?.message).to.match(/^start pause for pod/);
    expect(native.activeMounts()).to.deep.equal([]);

    // The shm mount and the first pin succeed, the second pin fails: pause is killed, all unmounted.
    let mountsSeen = 0;
    const realMount = native.mount.bind(native);
    native.mount = async (...args) => {
      if (++mountsSeen === 3) throw Object.assign(new Error('pin failed'), { code: 'ENOSPC' });
      return realMount(...args);
    };
    await manager.runPodSandbox({ metadata: { name: 'b', namespace: 'n', uid: 'u' } }, '').catch((e) => (caught = e));
    expect(caught?.message).to.match(/^pin \w+ namespace of pod/);
    expect(native.activeMounts()).to.deep.equal([]);
    expect(native.liveProcesses()).to.deep.equal([]);
    expect(manager.listPodSandboxes()).to.deep.equal([]);
  });
});
