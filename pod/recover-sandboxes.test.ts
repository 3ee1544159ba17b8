import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PodManager, PodManagerOptions } from './pod-manager';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { FakePodNetwork } from './testing/fake-pod-network';
import { FakeProcesses } from './testing/fake-processes';
import { PodSandboxConfigInput } from './types';
import { fakePodManagerOptions } from './testing/pod-manager-fixtures';
import { tempDirEach } from './../common/testing/temp-dir-fixtures';

function config(name: string): PodSandboxConfigInput {
  return { metadata: { name, namespace: 'ns', uid: `u-${name}`, attempt: 0 } };
}

async function until(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !probe(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(probe()).to.equal(true);
}

describe('pod/recover-sandboxes', () => {
  let dir: string;
  let native: FakeNativeBinding;
  let network: FakePodNetwork;
  let options: PodManagerOptions;
  const managers: PodManager[] = [];

  tempDirEach('berth-podrecover-', (d) => {
    dir = d;
    native = new FakeNativeBinding({ firstPid: 4_000_000 });
    native.writeCgroupProcs = true;
    network = new FakePodNetwork();
    options = fakePodManagerOptions(dir, { native, network, processes: new FakeProcesses(native) }, '');
  });
  afterEach(() => managers.splice(0).forEach((m) => m.close()));

  it('adopts live pods, marks pods whose pause died NOTREADY, and undoes an interrupted creation', async () => {
    const before = await PodManager.create(options);
    managers.push(before);
    const live = await before.runPodSandbox(config('live'), '');
    const dead = await before.runPodSandbox(config('dead'), '');
    network.hang = true;
    void before.runPodSandbox(config('crashed'), '');
    await until(() => network.setUps.length === 3);
    const crashedId = network.setUps[2].id;
    const crashedPid = 4_000_000 + 2;
    before.close(); // "berthd exits": watches end, pods keep running
    native.exitProcess(before.podSandboxStatus(dead).verbose.pausePid!); // dies while berthd is down
    network.hang = false;

    const after = await PodManager.create(options);
    managers.push(after);
    const report = await after.recover();
    expect(report).to.deep.equal({ running: [live], notReady: [dead], discarded: [crashedId], unreadable: [], swept: [] });

    expect(after.getSandbox(live)?.state).to.equal('ready');
    expect(after.getSandbox(dead)?.state).to.equal('notready');
    expect(JSON.parse(readFileSync(path.join(dir, 'root/pods', dead, 'state.json'), 'utf8')).phase).to.equal('notready');
    // The interrupted pod: pause killed, network torn down, mounts and pins gone, state deleted.
    expect(native.isAlive(crashedPid)).to.equal(false);
    expect(network.tearDowns).to.include(crashedId);
    expect(native.activeMounts().map((m) => m.target).filter((m) => m.includes(crashedId))).to.deep.equal([]);
    expect(existsSync(path.join(dir, 'root/pods', crashedId))).to.equal(false);
    expect(existsSync(path.join(dir, 'run/pods', crashedId))).to.equal(false);
    expect(after.listPodSandboxes().map((p) => p.id).sort()).to.deep.equal([live, dead].sort());

    // Names are claimed again: a kubelet retry gets the same pod.
    expect(await after.runPodSandbox(config('live'), '')).to.equal(live);
    // The adopted pause is watched again.
    native.exitProcess(after.podSandboxStatus(live).verbose.pausePid!);
    await until(() => after.getSandbox(live)?.state === 'notready');
    // The kernel empties cgroup.procs when processes die; the fake's plain files need deleting.
    for (const id of [live, dead]) rmSync(path.join(dir, 'cg/berth', `berth-pod-${id.slice(0, 12)}`, 'cgroup.procs'));
    await after.removePodSandbox(live);
    await after.removePodSandbox(dead);
    expect(after.listPodSandboxes()).to.deep.equal([]);
  });

  it('reports an unreadable state file with its pod id, skips it and keeps its files; other pods recover', async () => {
    const before = await PodManager.create(options);
    managers.push(before);
    const good = await before.runPodSandbox(config('good'), '');
    const bad = await before.runPodSandbox(config('bad'), '');
    before.close();
    writeFileSync(path.join(dir, 'root/pods', bad, 'state.json'), '{"version":1,"phase":"rea'); // torn write
    const after = await PodManager.create(options);
    managers.push(after);
    const report = await after.recover({ thorough: true });
    expect(report.running).to.deep.equal([good]);
    expect(report.unreadable.map((u) => u.id)).to.deep.equal([bad]);
    expect(report.unreadable[0].error).to.match(/JSON/);
    expect(report.swept).to.deep.equal([]); // the unreadable pod's pins and dirs are not "orphans"
    expect(existsSync(path.join(dir, 'run/pods', bad))).to.equal(true);
    expect(native.activeMounts().map((m) => m.target).some((m) => m.includes(bad))).to.equal(true);
    expect(after.listPodSandboxes().map((p) => p.id)).to.deep.equal([good]);
  });

  it('after a crash (thorough) sweeps pins, volatile dirs and state dirs that have no record; a clean start leaves them', async () => {
    const orphan = 'f'.repeat(64);
    mkdirSync(path.join(dir, 'run/ns/net'), { recursive: true });
    writeFileSync(path.join(dir, 'run/ns/net', orphan), '');
    native.addMount(path.join(dir, 'run/ns/net', orphan), { source: '/proc/1/ns/net', fstype: 'none', flags: ['bind'] });
    mkdirSync(path.join(dir, 'run/pods', orphan, 'shm'), { recursive: true });
    native.addMount(path.join(dir, 'run/pods', orphan, 'shm'), { source: 'shm', fstype: 'tmpfs', flags: [] });
    mkdirSync(path.join(dir, 'root/pods', orphan), { recursive: true });

    const clean = await PodManager.create(options);
    managers.push(clean);
    expect((await clean.recover()).swept).to.deep.equal([]);
    expect(existsSync(path.join(dir, 'run/pods', orphan))).to.equal(true);
    clean.close();

    const crashed = await PodManager.create(options);
    managers.push(crashed);
    const report = await crashed.recover({ thorough: true });
    expect(report.swept).to.deep.equal([orphan]);
    expect(native.activeMounts().map((m) => m.target).filter((m) => m.includes(orphan))).to.deep.equal([]);
    expect(existsSync(path.join(dir, 'run/ns/net', orphan))).to.equal(false);
    expect(existsSync(path.join(dir, 'run/pods', orphan))).to.equal(false);
    expect(existsSync(path.join(dir, 'root/pods', orphan))).to.equal(false);
  });
});
