import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, errorKindOf } from '../common/errors';
import type { ContainerEvent } from './container-events';
import { ContainerManager } from './container-manager';
import { FakeImages } from './testing/fake-images';
import { FakeMonitor } from './testing/fake-monitor';
import { FakeRuntime } from './testing/fake-runtime';
import { FakeSandboxes } from './testing/fake-sandboxes';
import { fakeManagerOptions, managerFakes, shContainerConfig, type ManagerFakes } from './testing/container-manager-fixtures';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

describe('runtime/ContainerManager (fakes)', () => {
  let dir: string;
  let sandboxes: FakeSandboxes;
  let images: FakeImages;
  let native: FakeNativeBinding;
  let runtime: FakeRuntime;
  let monitor: FakeMonitor;
  let manager: ContainerManager;
  let events: ContainerEvent[];

  const config = shContainerConfig;
  let fakes: ManagerFakes;

  async function open(): Promise<ContainerManager> {
    const m = await ContainerManager.open(fakeManagerOptions(dir, fakes));
    m.onEvent((e) => events.push(e));
    return m;
  }

  tempDirEach('berth-cm-', async (d) => {
    dir = d;
    fakes = managerFakes(dir, { config: { Cmd: ['sh'], StopSignal: 'SIGQUIT' }, lowerDirs: ['/l/2', '/l/1'] });
    ({ sandboxes, images, native, runtime, monitor } = fakes);
    events = [];
    manager = await open();
  });
  afterEach(() => manager.close());

  it('creates: overlay mount of the image layers, bundle config.json, record, created event', async () => {
    const id = await manager.createContainer('pod1', config());
    expect(id).to.match(/^[0-9a-f]{64}$/);
    const mount = native.calls.find((c) => c.method === 'mount')!;
    expect(mount.args[2]).to.equal('overlay');
    expect(mount.args[4]).to.match(/^lowerdir=\/l\/2:\/l\/1,upperdir=.*\/upper,workdir=.*\/work$/);
    const spec = JSON.parse(readFileSync(path.join(dir, 'containers', id, 'bundle', 'config.json'), 'utf8'));
    expect(spec.process.args).to.deep.equal(['/bin/sh']);
    const { status } = await manager.containerStatus(id, false);
    expect(status).to.include({ state: 'created', podSandboxId: 'pod1', name: 'app', logPath: path.join(dir, 'logs', 'app/0.log') });
    expect(status.image).to.deep.equal({ requested: 'busybox:latest', id: 'sha256:img', ref: 'busybox@sha256:dig', name: 'busybox:latest' });
    expect(events.map((e) => e.type)).to.deep.equal(['created']);
  });

  it('a retry with the same name returns the same container', async () => {
    const [a, b] = await Promise.all([manager.createContainer('pod1', config()), manager.createContainer('pod1', config())]);
    expect(a).to.equal(b);
    expect(await manager.createContainer('pod1', config())).to.equal(a);
    expect(manager.listContainers()).to.have.length(1);
    expect(await manager.createContainer('pod1', config({ attempt: 1 }))).to.not.equal(a);
  });

  it('refuses a missing image with NotFound naming it, and leaves nothing behind', async () => {
    const err = await rejection(manager.createContainer('pod1', config({ image: 'nginx:1' })));
    expect(errorKindOf(err)).to.equal('NotFound');
    expect(err.message + String((err.cause as Error)?.message)).to.contain('nginx:1');
    expect(manager.listContainers()).to.have.length(0);
    // the name is free again
    images.images.set('nginx:1', images.images.get('busybox:latest')!);
    expect(await manager.createContainer('pod1', config({ image: 'nginx:1' }))).to.match(/^[0-9a-f]{64}$/);
  });

  it('undoes the container dir when the overlay mount fails', async () => {
    native.fail('mount', new Error('EINVAL'));
    await rejection(manager.createContainer('pod1', config()));
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(path.join(dir, 'containers'))).to.deep.equal([]);
  });

  it('unmounts the rootfs when a later step fails (bad capability)', async () => {
    const err = await rejection(manager.createContainer('pod1', config({ security: { capabilities: { add: ['FLY'] } } })));
    expect(errorKindOf(err)).to.equal('InvalidArgument');
    expect(native.calls.map((c) => c.method)).to.deep.equal(['mount', 'unmount']);
  });

  it('creates a mount source that does not exist (as cri-o does), refuses a relative one, and mounts a symlinked one at its real path', async () => {
    const missing = path.join(dir, 'nope', 'deeper');
    const created = await manager.createContainer('pod1', config({ mounts: [{ containerPath: '/d', hostPath: missing, readonly: false, propagation: 'private' }] }));
    const createdSpec = JSON.parse(readFileSync(path.join(dir, 'containers', created, 'bundle', 'config.json'), 'utf8'));
    expect(createdSpec.mounts.find((m: { destination: string }) => m.destination === '/d').source).to.equal(missing);
    const { mkdirSync, statSync, symlinkSync } = await import('node:fs');
    expect(statSync(missing).isDirectory()).to.equal(true);
    const err = await rejection(manager.createContainer('pod1', config({ name: 'rel', mounts: [{ containerPath: '/d', hostPath: 'relative/x', readonly: false, propagation: 'private' }] })));
    expect(errorKindOf(err)).to.equal('InvalidArgument');
    expect(String((err.cause as Error | undefined)?.message ?? err.message)).to.contain('mounts[0].host_path: "relative/x" is not absolute');
    mkdirSync(path.join(dir, 'real'));
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const id = await manager.createContainer('pod1', config({ name: 'linked', mounts: [{ containerPath: '/d', hostPath: path.join(dir, 'link'), readonly: true, propagation: 'private' }] }));
    const spec = JSON.parse(readFileSync(path.join(dir, 'containers', id, 'bundle', 'config.json'), 'utf8'));
    expect(spec.mounts.find((m: { destination: string }) => m.destination === '/d').source).to.equal(path.join(dir, 'real'));
  });

  it('validates the pod, the log path and the name', async () => {
    expect(await rejection(manager.createContainer('nope', config()))).to.be.instanceOf(NotFoundError);
    sandboxes.add({ id: 'pod2', state: 'notready' }, path.join(dir, 'logs'));
    expect(await rejection(manager.createContainer('pod2', config()))).to.be.instanceOf(FailedPreconditionError);
    expect(errorKindOf(await rejection(manager.createContainer('pod1', config({ logPath: '../../etc/x.log' }))))).to.equal('InvalidArgument');
    expect(errorKindOf(await rejection(manager.createContainer('pod1', config({ logPath: '/abs.log' }))))).to.equal('InvalidArgument');
    expect(await rejection(manager.createContainer('pod1', config({ name: '' })))).to.be.instanceOf(InvalidArgumentError);
  });

  it('starts, then records the exit code and reason from the exit file', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    expect((await manager.containerStatus(id, false)).status.state).to.equal('running');
    expect(monitor.launches[0]).to.include({ containerId: id, runtimePath: '/fake/runc', logPath: path.join(dir, 'logs', 'app/0.log') });
    writeFileSync(path.join(dir, 'run', 'exits', id), '3');
    await manager.stopContainer(id, 1); // waits for the recorded exit
    const { status } = await manager.containerStatus(id, false);
    expect(status).to.include({ state: 'exited', exitCode: 3, reason: 'Error' });
    expect(status.finishedAtNs).to.be.at.least(status.startedAtNs);
    expect(status.startedAtNs).to.be.greaterThan(status.createdAtNs - 1);
    expect(events.map((e) => e.type)).to.deep.equal(['created', 'started', 'stopped']);
  });

  it('ContainerStatus and ListContainers share one frozen view per record state; an exit or a resource update is in the next call', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    const first = (await manager.containerStatus(id, false)).status;
    expect((await manager.containerStatus(id, false)).status).to.equal(first);
    const podList = manager.listContainers({ podSandboxId: 'pod1' });
    expect(podList).to.deep.equal([first]);
    expect(manager.listContainers({ podSandboxId: 'pod1', labelSelector: {} }), 'one list per pod until something changes').to.equal(podList);
    expect([first, first.labels, first.user.supplementalGroups, first.image, podList].every((o) => Object.isFrozen(o))).to.equal(true);
    const second = await manager.createContainer('pod1', config({ name: 'second' }));
    expect(manager.listContainers({ podSandboxId: 'pod1' }).map((c) => c.id).sort()).to.deep.equal([id, second].sort());
    await manager.removeContainer(second);
    expect(manager.listContainers({ podSandboxId: 'pod1' }).map((c) => c.id)).to.deep.equal([id]);
    await manager.updateContainerResources(id, { cpuShares: 300 });
    expect((await manager.containerStatus(id, false)).status.resources).to.deep.include({ cpuShares: 300 });
    const stopped = new Promise<void>((resolve) => manager.onEvent((e) => void (e.type === 'stopped' && resolve())));
    writeFileSync(path.join(dir, 'run', 'exits', id), '3');
    await stopped;
    expect((await manager.containerStatus(id, false)).status).to.include({ state: 'exited', exitCode: 3 });
    expect(manager.listContainers({ podSandboxId: 'pod1' })[0]).to.include({ state: 'exited' });
    expect(first.state).to.equal('running');
  });

  it('reports OOMKilled when conmon left its oom marker', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    writeFileSync(path.join(dir, 'containers', id, 'oom'), '');
    await runtime.kill(id, 'KILL');
    await manager.stopContainer(id, 0);
    expect((await manager.containerStatus(id, false)).status).to.include({ state: 'exited', exitCode: 137, reason: 'OOMKilled' });
  });

  it('stops with the image stop signal, and SIGKILLs a process that ignores it after the timeout', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    runtime.ignore.add('QUIT');
    const t0 = Date.now();
    await manager.stopContainer(id, 1);
    expect(Date.now() - t0).to.be.within(900, 3000);
    expect(runtime.calls.filter((c) => c.method === 'kill').map((c) => c.args[1])).to.deep.equal(['QUIT', 'KILL']);
    expect((await manager.containerStatus(id, false)).status).to.include({ state: 'exited', exitCode: 137 });
    await manager.stopContainer(id, 1); // idempotent
    await manager.stopContainer('0000000000unknown', 1);
  });

  it('stop settles a container whose monitor died (no exit file ever) once the runtime says it is gone', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    runtime.ignore.add('QUIT');
    runtime.ignore.add('KILL');
    await manager.stopContainer(id, 0);
    expect((await manager.containerStatus(id, false)).status).to.include({ state: 'exited', exitCode: 137, reason: 'Error' });
    // and one the runtime still reports running is an error, not a silent success
    const other = await manager.createContainer('pod1', config({ name: 'other' }));
    await manager.startContainer(other);
    runtime.states.set(other, { id: other, pid: 1, status: 'running', bundle: '', created: '' });
    const err = await rejection(manager.stopContainer(other, 0));
    expect(err.message).to.contain('still running');
  });

  it('removes a running container: kill, runtime delete, unmount, files gone; again is fine', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    await manager.removeContainer(id);
    expect(runtime.calls.map((c) => c.method)).to.include.members(['kill', 'delete']);
    expect(native.calls.map((c) => c.method)).to.deep.equal(['mount', 'unmount']);
    expect(existsSync(path.join(dir, 'containers', id))).to.equal(false);
    expect(manager.listContainers()).to.deep.equal([]);
    await manager.removeContainer(id);
    expect(events.map((e) => e.type)).to.deep.equal(['created', 'started', 'stopped', 'deleted']);
    expect(errorKindOf(await rejection(manager.containerStatus(id, false)))).to.equal('NotFound');
  });

  it('answers RemoveContainer before the directory is deleted (moved to .removed, deleted in the background); a restart deletes leftovers', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    await manager.removeContainer(id);
    const trash = path.join(dir, 'containers', '.removed');
    expect(existsSync(path.join(dir, 'containers', id))).to.equal(false);
    expect(readdirSync(trash).filter((n) => n.startsWith(`${id}-`))).to.have.length(1);
    await manager.removalsSettled();
    expect(readdirSync(trash)).to.deep.equal([]);

    mkdirSync(path.join(trash, 'left-by-a-crash', 'upper', 'etc'), { recursive: true });
    writeFileSync(path.join(trash, 'left-by-a-crash', 'upper', 'etc', 'hosts'), '127.0.0.1 localhost\n');
    manager.close();
    manager = await open();
    await manager.removalsSettled();
    expect(readdirSync(trash)).to.deep.equal([]);
    expect(manager.listContainers()).to.deep.equal([]);
  });

  it('lists with filters from memory', async () => {
    const a = await manager.createContainer('pod1', config({ labels: { app: 'a' } }));
    const b = await manager.createContainer('pod1', config({ name: 'b', labels: { app: 'b' } }));
    await manager.startContainer(b);
    expect(manager.listContainers({ state: 'running' }).map((c) => c.id)).to.deep.equal([b]);
    expect(manager.listContainers({ labelSelector: { app: 'a' } }).map((c) => c.id)).to.deep.equal([a]);
    expect(manager.listContainers({ id: a.slice(0, 8) }).map((c) => c.id)).to.deep.equal([a]);
    expect(manager.listContainers({ podSandboxId: 'other' })).to.deep.equal([]);
  });

  it('reloads records after a restart and settles exits that happened meanwhile', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    manager.close();
    writeFileSync(path.join(dir, 'run', 'exits', id), '0');
    manager = await open();
    await new Promise((r) => setTimeout(r, 50));
    expect((await manager.containerStatus(id, false)).status).to.include({ state: 'exited', exitCode: 0, reason: 'Completed' });
  });

  it('recovery: a running container the runtime no longer knows is recorded as exited 255 with the reason; a live one keeps running', async () => {
    const gone = await manager.createContainer('pod1', config());
    const alive = await manager.createContainer('pod1', config({ name: 'alive' }));
    await manager.startContainer(gone);
    await manager.startContainer(alive);
    manager.close();
    runtime.states.set(alive, { id: alive, pid: 777, status: 'running', bundle: '', created: '' });
    manager = await open();
    const lost = (await manager.containerStatus(gone, false)).status;
    expect(lost).to.include({ state: 'exited', exitCode: 255, reason: 'Unknown' });
    expect(lost.message).to.contain('no longer knows');
    expect((await manager.containerStatus(alive, false)).status).to.include({ state: 'running', pid: 777 });
  });

  it('recovery removes the directory of a create interrupted before its record (unmounting its rootfs)', async () => {
    const orphan = 'ab'.repeat(32);
    const rootfs = path.join(dir, 'containers', orphan, 'bundle', 'rootfs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(rootfs, { recursive: true });
    native.addMount(rootfs);
    manager.close();
    manager = await open();
    expect(existsSync(path.join(dir, 'containers', orphan))).to.equal(false);
    expect(native.calls.at(-1)).to.deep.equal({ method: 'unmount', args: [rootfs, ['detach']] });
  });

  it('reports a runtime create failure at Start and records it', async () => {
    monitor.fail = new Error('runc create failed: exec: "nope": executable file not found');
    const id = await manager.createContainer('pod1', config());
    const err = await rejection(manager.startContainer(id));
    expect(err.message).to.contain('start container');
    const { status } = await manager.containerStatus(id, false);
    expect(status.reason).to.equal('CreateContainerError');
    expect(status.message).to.contain('executable file not found');
  });

  it('updates resources live and shows them in status; exec uses the container process with the new argv', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    await manager.updateContainerResources(id, { cpuShares: 256, memoryLimitInBytes: 1 << 26 });
    const upd = runtime.calls.find((c) => c.method === 'update')!;
    expect(upd.args[1]).to.deep.include({ cpu: { shares: 256 } });
    expect((await manager.containerStatus(id, false)).status.resources).to.deep.include({ cpuShares: 256, memoryLimitInBytes: 1 << 26 });
    const r = await manager.execSync(id, ['echo', 'hi'], 2);
    expect(r.stdout.toString()).to.equal('out');
    const exec = runtime.calls.find((c) => c.method === 'exec')!;
    expect((exec.args[1] as { args: string[] }).args).to.deep.equal(['echo', 'hi']);
    expect(exec.args[2]).to.deep.equal({ timeoutMs: 2000, maxOutputBytes: 16 * 1024 * 1024 - 64 * 1024 });
  });

  it('verbose status carries the pid and the spec', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    const { info } = await manager.containerStatus(id, true);
    const parsed = JSON.parse(info.info);
    expect(parsed.pid).to.equal(4242);
    expect(parsed.runtimeSpec.process.args).to.deep.equal(['/bin/sh']);
  });

  it('stopAllInPod and removeAllInPod act on that pod only', async () => {
    sandboxes.add({ id: 'pod2' }, path.join(dir, 'logs2'));
    const a = await manager.createContainer('pod1', config());
    const b = await manager.createContainer('pod2', config());
    await manager.startContainer(a);
    await manager.startContainer(b);
    await manager.stopAllInPod('pod1');
    expect(manager.listContainers({ podSandboxId: 'pod1' })[0].state).to.equal('exited');
    expect(manager.listContainers({ podSandboxId: 'pod2' })[0].state).to.equal('running');
    await manager.removeAllInPod('pod1');
    expect(manager.listContainers().map((c) => c.id)).to.deep.equal([b]);
  });
});
