import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../common/logger';
import { PodManager } from './pod-manager';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { FakePodNetwork } from './testing/fake-pod-network';
import { FakeProcesses } from './testing/fake-processes';
import { TEST_PAUSE_MARKER_ENV, TEST_PAUSE_STEP_ENV, type TestPauseMarker } from './test-pause-hook';

/** Waits until `file` exists (the crash seam paused berthd's step). */
async function waitForFile(file: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no ${file} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('pod/start-sandbox: order of the durable record', () => {
  let dir: string;
  const saved = { step: process.env[TEST_PAUSE_STEP_ENV], marker: process.env[TEST_PAUSE_MARKER_ENV] };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-start-order-'));
  });
  afterEach(() => {
    for (const [k, v] of [[TEST_PAUSE_STEP_ENV, saved.step], [TEST_PAUSE_MARKER_ENV, saved.marker]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** A manager on fakes, with a v2 hierarchy under the temp dir. */
  async function fakeManager(native: FakeNativeBinding, network: FakePodNetwork): Promise<{ manager: PodManager; root: string; cgroupRoot: string }> {
    const root = path.join(dir, 'root');
    const cgroupRoot = path.join(dir, 'cgroup');
    mkdirSync(path.join(cgroupRoot, 'unified'), { recursive: true });
    writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 192.0.2.53\n');
    writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
    const manager = await PodManager.create({
      root,
      runRoot: path.join(dir, 'run'),
      native,
      network,
      processes: new FakeProcesses(native),
      pauseExecutable: '/usr/libexec/berth/pause',
      runtimeHandlers: ['runc'],
      logger: silentLogger,
      containers: { stopAll: async () => undefined, removeAll: async () => undefined },
      cgroupHierarchies: [{ mountPoint: path.join(cgroupRoot, 'unified'), version: 2, controllers: [] }],
      hostResolvConf: path.join(dir, 'resolv.conf'),
      hostHosts: path.join(dir, 'hosts'),
      killTimeoutMs: 1000,
    });
    return { manager, root, cgroupRoot };
  }

  /** Starts a pod whose start stops just before its cgroup step; `marker` going away lets it go on. */
  async function startPausedAtCgroupStep(manager: Awaited<ReturnType<typeof fakeManager>>['manager']) {
    const marker = path.join(dir, 'marker.json');
    process.env[TEST_PAUSE_STEP_ENV] = 'cgroup';
    process.env[TEST_PAUSE_MARKER_ENV] = marker;
    const running = manager.runPodSandbox({ metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 }, linux: { cgroupParent: '/kubepods/pod1' } }, undefined);
    await waitForFile(marker);
    const { podId } = JSON.parse(readFileSync(marker, 'utf8')) as TestPauseMarker;
    return { marker, podId, running };
  }

  it('the `creating` record is on disk before the pod cgroup is made (recovery finds the cgroup through it)', async () => {
    const { manager, root, cgroupRoot } = await fakeManager(new FakeNativeBinding(), new FakePodNetwork());
    const { marker, podId, running } = await startPausedAtCgroupStep(manager);
    // Paused just before the cgroup step: the record is already durable, and names the cgroup parent.
    const record = JSON.parse(readFileSync(path.join(root, 'pods', podId, 'state.json'), 'utf8')) as { phase: string; info: { cgroupParent: string } };
    expect({ phase: record.phase, cgroupParent: record.info.cgroupParent }).to.deep.equal({ phase: 'creating', cgroupParent: '/kubepods/pod1' });
    expect(existsSync(path.join(cgroupRoot, 'unified', 'kubepods'))).to.equal(false);
    unlinkSync(marker);
    expect(await running).to.equal(podId);
    expect(readdirSync(path.join(cgroupRoot, 'unified', 'kubepods', 'pod1'))).to.deep.equal([`berth-pod-${podId.slice(0, 12)}`]);
  });

  it('the netns and CNI ADD start once the record is durable, without waiting for the pod cgroup', async () => {
    const native = new FakeNativeBinding();
    const network = new FakePodNetwork();
    const { manager, root } = await fakeManager(native, network);
    const { marker, podId, running } = await startPausedAtCgroupStep(manager);
    const deadline = Date.now() + 2000;
    while (network.setUps.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(network.setUps.map((s) => s.id), 'ADD while the cgroup step waits').to.deep.equal([podId]);
    expect(native.callsOf('createNetns')).to.have.length(1);
    expect(native.callsOf('startPause')).to.have.length(0);
    const record = JSON.parse(readFileSync(path.join(root, 'pods', podId, 'state.json'), 'utf8')) as { phase: string };
    expect(record.phase).to.equal('creating');
    unlinkSync(marker);
    expect(await running).to.equal(podId);
    expect(manager.getSandbox(podId)?.state).to.equal('ready');
  });
});
