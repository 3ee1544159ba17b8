import { expect } from 'chai';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { FakeNativeBinding } from '../native/testing/fake-native';
import { ContainerManager } from './container-manager';
import type { FakeRuntime } from './testing/fake-runtime';
import { fakeManagerOptions, managerFakes, shContainerConfig, type ManagerFakes } from './testing/container-manager-fixtures';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

describe('runtime/container removal after the answer (fakes)', () => {
  let dir: string;
  let fakes: ManagerFakes;
  let native: FakeNativeBinding;
  let runtime: FakeRuntime;
  let manager: ContainerManager;

  tempDirEach('berth-rm-', async (d) => {
    dir = d;
    fakes = managerFakes(dir);
    ({ native, runtime } = fakes);
    manager = await ContainerManager.open(fakeManagerOptions(dir, fakes));
  });
  afterEach(() => manager.close());

  const trash = () => path.join(dir, 'containers', '.removed');
  const rootfsOf = (containerDir: string) => path.join(containerDir, 'bundle', 'rootfs');

  /** A started container that then exited with code 0 (as kubelet's StopContainer leaves it). */
  async function exitedContainer(name = 'app'): Promise<string> {
    const id = await manager.createContainer('pod1', shContainerConfig({ name }));
    await manager.startContainer(id);
    writeFileSync(path.join(dir, 'run', 'exits', id), '0');
    await manager.stopContainer(id, 1);
    expect((await manager.containerStatus(id, false)).status.state).to.equal('exited');
    return id;
  }

  /** The trash entry of `id`, with the fake's mount moved along as the kernel moves it with the rename. */
  function movedEntry(id: string): string {
    const names = readdirSync(trash()).filter((n) => n.startsWith(`${id}-`));
    expect(names, 'one trash entry').to.have.length(1);
    const entry = path.join(trash(), names[0]);
    const before = path.join(dir, 'containers', id);
    if (native.isMounted(rootfsOf(before))) {
      void native.unmount(rootfsOf(before));
      native.addMount(rootfsOf(entry), { fstype: 'overlay' });
    }
    native.calls.length = 0;
    return entry;
  }

  it('an exited container: the answer comes before the runtime delete and unmount, which follow at the moved path; the pod removal waits for them', async () => {
    const id = await exitedContainer();
    runtime.calls.length = 0;
    await manager.removeContainer(id);
    // Answered: forgotten, directory (record inside) moved, nothing torn down yet.
    expect(manager.listContainers()).to.deep.equal([]);
    expect(existsSync(path.join(dir, 'containers', id))).to.equal(false);
    expect(runtime.calls.filter((c) => c.method === 'delete')).to.deep.equal([]);
    const entry = movedEntry(id);
    expect(existsSync(path.join(entry, 'state.json'))).to.equal(true);
    expect(existsSync(path.join(dir, 'run', 'exits', id))).to.equal(true);

    await manager.removeAllInPod('pod1');
    expect(runtime.calls.filter((c) => c.method === 'delete').map((c) => c.args)).to.deep.equal([[id, true]]);
    expect(native.calls.filter((c) => c.method === 'unmount').map((c) => c.args[0])).to.deep.equal([rootfsOf(entry)]);
    expect(native.activeMounts()).to.deep.equal([]);
    expect(existsSync(path.join(dir, 'run', 'exits', id))).to.equal(false);
    await manager.removalsSettled();
    expect(readdirSync(trash())).to.deep.equal([]);
  });

  it('berthd stopped after the answer, before the teardown: the next start finishes it from the record in the trash', async () => {
    const id = await exitedContainer();
    runtime.calls.length = 0;
    await manager.removeContainer(id);
    const entry = movedEntry(id);
    manager.close(); // as a SIGKILL right after the answer: no teardown ran
    expect(runtime.calls.filter((c) => c.method === 'delete')).to.deep.equal([]);
    expect(native.activeMounts()).to.have.length(1);

    manager = await ContainerManager.open(fakeManagerOptions(dir, fakes));
    expect(manager.listContainers()).to.deep.equal([]);
    await manager.removalsSettled();
    expect(runtime.calls.filter((c) => c.method === 'delete').map((c) => c.args)).to.deep.equal([[id, true]]);
    expect(native.calls.filter((c) => c.method === 'unmount').map((c) => c.args[0])).to.deep.equal([rootfsOf(entry)]);
    expect(native.activeMounts()).to.deep.equal([]);
    expect(existsSync(path.join(dir, 'run', 'exits', id))).to.equal(false);
    expect(readdirSync(trash())).to.deep.equal([]);
  });

  it('the next start tears down what it finds in the trash one at a time', async () => {
    const ids = [await exitedContainer('a'), await exitedContainer('b'), await exitedContainer('c')];
    for (const id of ids) await manager.removeContainer(id);
    manager.close();
    let inFlight = 0;
    let most = 0;
    const realDelete = runtime.delete.bind(runtime);
    runtime.delete = async (id: string, force: boolean) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      await realDelete(id, force);
    };
    runtime.calls.length = 0;
    manager = await ContainerManager.open(fakeManagerOptions(dir, fakes));
    await manager.removalsSettled();
    expect(runtime.calls.filter((c) => c.method === 'delete').map((c) => c.args[0])).to.have.members(ids);
    expect(most).to.equal(1);
    expect(readdirSync(trash())).to.deep.equal([]);
  });

  it('a failed teardown keeps the directory, fails the pod removal waiting for it, and is retried until it succeeds', async () => {
    const id = await exitedContainer();
    await manager.removeContainer(id);
    const entry = movedEntry(id);
    native.fail('unmount', 'EBUSY', 1);
    const err = await rejection(manager.removeAllInPod('pod1'));
    expect(String((err.cause as Error | undefined)?.message)).to.contain('unmount rootfs');
    expect(existsSync(entry), 'no recursive delete while the rootfs may be mounted').to.equal(true);
    expect(native.isMounted(rootfsOf(entry))).to.equal(true);
    await manager.removeAllInPod('pod1');
    expect(native.activeMounts()).to.deep.equal([]);
    await manager.removalsSettled();
    expect(readdirSync(trash())).to.deep.equal([]);
  });

  it('a running container is still killed and torn down before the answer', async () => {
    const id = await manager.createContainer('pod1', shContainerConfig());
    await manager.startContainer(id);
    runtime.calls.length = 0;
    await manager.removeContainer(id);
    expect(runtime.calls.map((c) => c.method)).to.deep.equal(['kill', 'delete']);
    expect(native.activeMounts()).to.deep.equal([]);
    expect(manager.listContainers()).to.deep.equal([]);
  });

  it('a trash entry without a record (its teardown had finished) is unmounted to be sure, then deleted', async () => {
    const entry = path.join(trash(), 'leftover-0000');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(rootfsOf(entry), { recursive: true });
    native.addMount(rootfsOf(entry), { fstype: 'overlay' });
    manager.close();
    manager = await ContainerManager.open(fakeManagerOptions(dir, fakes));
    await manager.removalsSettled();
    expect(native.activeMounts()).to.deep.equal([]);
    expect(readdirSync(trash())).to.deep.equal([]);
  });
});
