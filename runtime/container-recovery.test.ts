import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { errorKindOf } from '../common/errors';
import { silentLogger } from '../common/logger';
import { ContainerManager } from './container-manager';
import { LOST_EXIT_CODE, LOST_REASON } from './container-recovery';
import { specInput } from './testing/spec-fixtures';
import { FakeImages } from './testing/fake-images';
import { FakeMonitor } from './testing/fake-monitor';
import { FakeRuntime } from './testing/fake-runtime';
import { FakeSandboxes } from './testing/fake-sandboxes';
import { fakeManagerOptions, managerFakes, shContainerConfig, type ManagerFakes } from './testing/container-manager-fixtures';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('runtime/container-recovery and idempotent creates (fakes)', () => {
  let dir: string;
  let sandboxes: FakeSandboxes;
  let images: FakeImages;
  let native: FakeNativeBinding;
  let runtime: FakeRuntime;
  let manager: ContainerManager;

  const config = shContainerConfig;
  let fakes: ManagerFakes;

  function open(thoroughRecovery = false): Promise<ContainerManager> {
    return ContainerManager.open(fakeManagerOptions(dir, fakes, { thoroughRecovery }));
  }

  async function restart(thorough = false): Promise<void> {
    manager.close();
    manager = await open(thorough);
  }

  tempDirEach('berth-crec-', async (d) => {
    dir = d;
    fakes = managerFakes(dir);
    ({ sandboxes, images, native, runtime } = fakes);
    manager = await open();
  });
  afterEach(() => manager.close());

  it('a container that exited while berthd was down gets the exit file code and its mtime as finish time', async () => {
    const id = await manager.createContainer('pod1', config());
    await manager.startContainer(id);
    manager.close();
    const exitFile = path.join(dir, 'run', 'exits', id);
    writeFileSync(exitFile, '3');
    const finished = new Date(Date.now() + 60_000); // clearly not "now"
    utimesSync(exitFile, finished, finished);
    manager = await open();
    const report = manager.recoveryReport()!;
    expect(report.exitedWhileDown).to.deep.equal([id]);
    expect(report.lost).to.deep.equal([]);
    const { status } = await manager.containerStatus(id, false);
    expect(status).to.include({ state: 'exited', exitCode: 3, reason: 'Error' });
    expect(Math.round(status.finishedAtNs / 1e9)).to.equal(Math.round(finished.getTime() / 1000));
  });

  it('monitor and process both gone without an exit file: exited 255, reason Unknown; live ones stay', async () => {
    const gone = await manager.createContainer('pod1', config());
    const alive = await manager.createContainer('pod1', config({ name: 'alive' }));
    await manager.startContainer(gone);
    await manager.startContainer(alive);
    runtime.states.set(alive, { id: alive, pid: 4242, status: 'running', bundle: '', created: '' });
    await restart();
    const report = manager.recoveryReport()!;
    expect(report.lost).to.deep.equal([gone]);
    expect(report.alive).to.deep.equal([alive]);
    expect((await manager.containerStatus(gone, false)).status).to.include({ state: 'exited', exitCode: LOST_EXIT_CODE, reason: LOST_REASON });
    expect((await manager.containerStatus(alive, false)).status).to.include({ state: 'running', pid: 4242 });
    await manager.removeContainer(gone); // still removable
    expect(manager.listContainers().map((c) => c.id)).to.deep.equal([alive]);
  });

  it('an unreadable state file is reported with its id and skipped, its dir kept; the rest recover', async () => {
    const good = await manager.createContainer('pod1', config());
    const bad = await manager.createContainer('pod1', config({ name: 'bad' }));
    writeFileSync(path.join(dir, 'containers', bad, 'state.json'), '{"version":1,"id":'); // torn
    await restart(true);
    const report = manager.recoveryReport()!;
    expect(report.unreadable.map((u) => u.id)).to.deep.equal([bad]);
    expect(report.unreadable[0].error).to.match(/JSON/);
    expect(report.orphanDirsRemoved).to.deep.equal([]);
    expect(existsSync(path.join(dir, 'containers', bad))).to.equal(true);
    expect(manager.listContainers().map((c) => c.id)).to.deep.equal([good]);
  });

  it('after a crash (thorough) removes exit files and temp files without a record; a clean start keeps them', async () => {
    const id = await manager.createContainer('pod1', config());
    const stray = path.join(dir, 'run', 'exits', 'cd'.repeat(32));
    const tmp = path.join(dir, 'containers', id, '.state.json.tmp-1-1');
    mkdirSync(path.dirname(stray), { recursive: true });
    writeFileSync(stray, '0');
    writeFileSync(tmp, '{');
    await restart(false);
    expect(manager.recoveryReport()!.strayFilesRemoved).to.deep.equal([]);
    expect(existsSync(stray)).to.equal(true);
    await restart(true);
    expect(manager.recoveryReport()!.strayFilesRemoved.sort()).to.deep.equal([stray, tmp].sort());
    expect(existsSync(stray) || existsSync(tmp)).to.equal(false);
    expect(manager.listContainers().map((c) => c.id)).to.deep.equal([id]);
  });

  it('a retry with the same config joins the in-flight create; a different config under the name is AlreadyExists', async () => {
    const [a, b] = await Promise.all([manager.createContainer('pod1', config()), manager.createContainer('pod1', config())]);
    expect(a).to.equal(b);
    const inflight = manager.createContainer('pod1', config({ name: 'x' }));
    const conflict = await manager.createContainer('pod1', config({ name: 'x', command: ['/bin/other'] })).then(() => undefined, (e: unknown) => e);
    expect(errorKindOf(conflict)).to.equal('AlreadyExists');
    const x = await inflight;
    const later = await manager.createContainer('pod1', config({ name: 'x', command: ['/bin/other'] })).then(() => undefined, (e: unknown) => e);
    expect(errorKindOf(later)).to.equal('AlreadyExists');
    expect(String((later as Error).message)).to.contain(x);
    // after a restart the fingerprint is still known
    await restart();
    expect(await manager.createContainer('pod1', config({ name: 'x' }))).to.equal(x);
  });

  it('50 parallel creates (each retried at once) and starts all succeed and stay consistent', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const ids = await Promise.all(names.flatMap((name) => [manager.createContainer('pod1', config({ name })), manager.createContainer('pod1', config({ name }))]));
    for (let i = 0; i < 50; i++) expect(ids[2 * i]).to.equal(ids[2 * i + 1]);
    const unique = [...new Set(ids)];
    expect(unique).to.have.length(50);
    await Promise.all(unique.map((id) => manager.startContainer(id)));
    const listed = manager.listContainers();
    expect(listed).to.have.length(50);
    expect(listed.every((c) => c.state === 'running')).to.equal(true);
    await restart();
    expect(manager.listContainers().map((c) => c.id).sort()).to.deep.equal(unique.sort());
  });

  it('a created container whose conmon died during its launch is deleted from runc and relaunched by Start', async () => {
    const id = await manager.createContainer('pod1', config());
    runtime.states.set(id, { id, pid: 555, status: 'created', bundle: '', created: '' }); // runc has it, no conmon.pid
    manager.close();
    const monitor = new FakeMonitor();
    manager = await ContainerManager.open({
      containersDir: path.join(dir, 'containers'), runDir: path.join(dir, 'run'), sandboxes, images, native, runtimes: { runc: runtime },
      defaultRuntime: 'runc', monitor, conmonPath: '/fake/conmon', specDefaults: specInput().defaults, logger: silentLogger, killWaitMs: 300,
    });
    expect(manager.recoveryReport()!.relaunch).to.deep.equal([id]);
    expect(runtime.calls.some((c) => c.method === 'delete' && c.args[0] === id)).to.equal(true);
    expect((await manager.containerStatus(id, false)).status).to.include({ state: 'created' });
    await manager.startContainer(id);
    expect(monitor.launches).to.have.length(1); // conmon launched again
    expect((await manager.containerStatus(id, false)).status.state).to.equal('running');
  });

  it('a Start interrupted after runc start but before its record write is RUNNING after recovery', async () => {
    const id = await manager.createContainer('pod1', config());
    runtime.states.set(id, { id, pid: 777, status: 'running', bundle: '', created: '' });
    await restart();
    expect((await manager.containerStatus(id, false)).status).to.include({ state: 'running', pid: 777 });
    expect(manager.recoveryReport()!.relaunch).to.deep.equal([]);
  });
});
