import { expect } from 'chai';
import type { CgroupUsage } from './cgroup-stats';
import { ContainerStatsReader, type StatsSource } from './container-stats';
import type { ContainerStatusView } from './container-view';
import { runningContainerView } from './testing/container-view-fixtures';

describe('runtime/ContainerStatsReader CPU rates (usage_nano_cores)', () => {
  let clock: number;
  const cpu = new Map<string, number>();
  const usage = async (cgroupsPath: string, _v: 1 | 2, nowNs: number): Promise<CgroupUsage | undefined> => {
    const ns = cpu.get(cgroupsPath);
    if (ns === undefined) return undefined;
    return { timestampNs: nowNs, cpuUsageNs: ns, memoryUsageBytes: 0, memoryWorkingSetBytes: 0, memoryRssBytes: 0, pageFaults: 0, majorPageFaults: 0 };
  };
  const view = (id: string, pod: string): ContainerStatusView => runningContainerView(id, pod);
  const views = [view('ca', 'podA'), view('cb', 'podB')];
  const source: StatsSource = {
    listContainers: (f) => views.filter((v) => (!f?.podSandboxId || v.podSandboxId === f.podSandboxId) && (!f?.id || v.id === f.id)),
    containerPaths: (id) => ({ cgroupsPath: `/cg/${id}`, dir: '', state: 'running' }),
  };
  const pod = (id: string) => ({ id, name: id, namespace: 'ns', uid: 'u', attempt: 0, labels: {}, annotations: {}, cgroupParent: `/cg/${id}` });
  const advance = (s: number, add: Record<string, number>) => {
    clock += s * 1e9;
    for (const [k, v] of Object.entries(add)) cpu.set(`/cg/${k}`, (cpu.get(`/cg/${k}`) ?? 0) + v);
  };

  beforeEach(() => {
    clock = 1e18;
    cpu.clear();
    for (const k of ['ca', 'cb', 'podA', 'podB']) cpu.set(`/cg/${k}`, 1e9);
  });

  it('a pod gets a rate from its second sample: Δ(cpu ns) / Δt', async () => {
    const reader = new ContainerStatsReader(source, 2, () => clock, usage);
    const first = await reader.podStats(pod('podA'));
    expect(first.usage).to.not.have.property('cpuUsageNanoCores');
    advance(10, { podA: 2.5e9, ca: 2e9 });
    const second = await reader.podStats(pod('podA'));
    expect(second.usage!.cpuUsageNanoCores).to.equal(2.5e8); // 2.5 s of CPU in 10 s: a quarter core
    expect(second.containers[0].usage!.cpuUsageNanoCores).to.equal(2e8);
  });

  it("one pod's stats do not throw away the other pods' containers' samples", async () => {
    const reader = new ContainerStatsReader(source, 2, () => clock, usage);
    await reader.list(); // samples ca and cb
    advance(5, { ca: 1e9, cb: 5e8 });
    await reader.podStats(pod('podA')); // samples only podA's container
    advance(5, { cb: 5e8 });
    const all = await reader.list();
    expect(all.find((s) => s.id === 'cb')!.usage!.cpuUsageNanoCores).to.equal(1e8); // 1e9 ns over the 10 s since the first list
  });

  it('a removed container loses its sample (a new one with the same id starts over)', async () => {
    const reader = new ContainerStatsReader(source, 2, () => clock, usage);
    await reader.list();
    views.splice(1, 1);
    await reader.list();
    views.push(view('cb', 'podB'));
    advance(1, { cb: 1e9 });
    expect((await reader.stats('cb')).usage).to.not.have.property('cpuUsageNanoCores');
  });
});
