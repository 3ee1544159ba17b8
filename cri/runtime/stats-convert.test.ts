import { expect } from 'chai';
import type { CgroupUsage } from '../../runtime/cgroup-stats';
import { runtime } from '../api/generated/cri';
import { statsToWire } from './container-stats-convert';
import { podStatsToWire } from './pod-stats-convert';

const base: CgroupUsage = { timestampNs: 7, cpuUsageNs: 100, memoryUsageBytes: 3, memoryWorkingSetBytes: 2, memoryRssBytes: 1, pageFaults: 0, majorPageFaults: 0 };
const psi = { some: { avg10: 1.5, avg60: 0.5, avg300: 0.25, totalNs: 12000 }, full: { avg10: 0, avg60: 0, avg300: 0, totalNs: 3000 } };
const container = (usage?: CgroupUsage & { cpuUsageNanoCores?: number }) => ({
  id: 'c',
  podSandboxId: 'p',
  name: 'app',
  attempt: 0,
  labels: {},
  annotations: {},
  usage,
  writableLayer: { timestampNs: 7, usedBytes: 0, inodesUsed: 0, mountpoint: '/x' },
});

describe('cri/runtime stats converters: swap, io, PSI, pod CPU rate', () => {
  it('container swap: usage and available as UInt64Value, with the sample time', () => {
    const s = statsToWire(container({ ...base, swapUsageBytes: 4096, swapAvailableBytes: 6144 }));
    expect(s.swap).to.deep.equal({ timestamp: 7, swapUsageBytes: { value: 4096 }, swapAvailableBytes: { value: 6144 } });
    expect(statsToWire(container({ ...base, swapUsageBytes: 0 })).swap).to.deep.equal({ timestamp: 7, swapUsageBytes: { value: 0 } });
    expect(statsToWire(container(base))).to.not.have.property('swap');
  });

  it('PSI goes to cpu.psi, memory.psi and io.psi with upstream field names; no PSI, no io', () => {
    const s = statsToWire(container({ ...base, psi: { cpu: psi, memory: psi, io: psi } }));
    const wire = { Full: { Total: 3000, Avg10: 0, Avg60: 0, Avg300: 0 }, Some: { Total: 12000, Avg10: 1.5, Avg60: 0.5, Avg300: 0.25 } };
    expect(s.cpu!.psi).to.deep.equal(wire);
    expect(s.memory!.psi).to.deep.equal(wire);
    expect(s.io).to.deep.equal({ timestamp: 7, psi: wire });
    expect(statsToWire(container(base))).to.not.have.property('io');
    // encodes with the PsiData field numbers
    const back = runtime.v1.ContainerStats.decode(runtime.v1.ContainerStats.encode(s).finish());
    expect(back.io!.psi!.Some!.Avg10).to.equal(1.5);
  });

  it('pod stats carry the pod CPU rate and io', () => {
    const pod = { id: 'p', name: 'web', namespace: 'ns', uid: 'u', attempt: 0, labels: {}, annotations: {}, cgroupParent: '/p' };
    const wire = podStatsToWire({ pod, usage: { ...base, cpuUsageNanoCores: 250_000_000, psi: { io: psi } }, containers: [] });
    expect(wire.linux!.cpu).to.deep.include({ timestamp: 7, usageCoreNanoSeconds: { value: 100 }, usageNanoCores: { value: 250_000_000 } });
    expect(wire.linux!.io!.psi!.Full!.Total).to.equal(3000);
    expect(podStatsToWire({ pod, usage: base, containers: [] }).linux!.cpu!.usageNanoCores).to.equal(undefined);
  });
});
