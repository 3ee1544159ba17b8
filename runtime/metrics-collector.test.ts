import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { StatsSource } from './container-stats';
import type { ContainerStatusView } from './container-view';
import { cgroupFsPath } from './cgroup-stats';
import { readCgroupMetrics, weightToShares } from './metrics-cgroup';
import { PodMetricsCollector, type MetricSample } from './metrics-collector';
import { METRIC_DESCRIPTORS } from './metrics-descriptors';
import type { PodStatsInput } from './pod-stats';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

const CG = '/kubepods/podA/berth-c1';

/** Writes `files` (relative path → content) under `root`. */
async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), text);
  }
}

const V1_FILES: Record<string, string> = {
  [`cpu,cpuacct${CG}/cpuacct.usage`]: '3500000000\n',
  [`cpu,cpuacct${CG}/cpuacct.stat`]: 'user 250\nsystem 80\n',
  [`cpu,cpuacct${CG}/cpu.stat`]: 'nr_periods 40\nnr_throttled 3\nthrottled_time 2500000000\n',
  [`cpu,cpuacct${CG}/cpu.shares`]: '512\n',
  [`cpu,cpuacct${CG}/cpu.cfs_quota_us`]: '50000\n',
  [`cpu,cpuacct${CG}/cpu.cfs_period_us`]: '100000\n',
  [`cpu,cpuacct${CG}/cgroup.procs`]: '101\n102\n',
  [`cpu,cpuacct${CG}/tasks`]: '101\n102\n103\n',
  [`memory${CG}/memory.usage_in_bytes`]: '10485760\n',
  [`memory${CG}/memory.max_usage_in_bytes`]: '20971520\n',
  [`memory${CG}/memory.limit_in_bytes`]: '67108864\n',
  [`memory${CG}/memory.soft_limit_in_bytes`]: '9223372036854771712\n',
  [`memory${CG}/memory.failcnt`]: '4\n',
  [`memory${CG}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
  [`memory${CG}/memory.stat`]: 'cache 999\nrss 1\ntotal_cache 4096000\ntotal_rss 6000000\ntotal_mapped_file 1000000\ntotal_inactive_file 2097152\ntotal_swap 0\n',
  [`memory${CG}/cgroup.procs`]: '101\n102\n',
  [`memory${CG}/tasks`]: '101\n102\n103\n',
  [`pids${CG}/pids.current`]: '3\n',
  [`pids${CG}/pids.max`]: 'max\n',
  [`pids${CG}/cgroup.procs`]: '101\n102\n',
  [`pids${CG}/tasks`]: '101\n102\n103\n',
};

const V2_FILES: Record<string, string> = {
  'cgroup.controllers': 'cpu memory pids\n',
  [`${CG}/cpu.stat`]: 'usage_usec 7200000\nuser_usec 5000000\nsystem_usec 2200000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 1500000\n',
  [`${CG}/cpu.weight`]: '100\n',
  [`${CG}/cpu.max`]: 'max 100000\n',
  [`${CG}/memory.current`]: '8388608\n',
  [`${CG}/memory.peak`]: '9000000\n',
  [`${CG}/memory.max`]: '33554432\n',
  [`${CG}/memory.low`]: '0\n',
  [`${CG}/memory.swap.max`]: '0\n',
  [`${CG}/memory.swap.current`]: '0\n',
  [`${CG}/memory.events`]: 'low 0\nhigh 0\nmax 6\noom 2\noom_kill 2\n',
  [`${CG}/memory.stat`]: 'anon 5000000\nfile 3000000\nfile_mapped 700000\ninactive_file 1388608\n',
  [`${CG}/cgroup.procs`]: '7\n',
  [`${CG}/cgroup.threads`]: '7\n8\n',
  [`${CG}/pids.max`]: '200\n',
};

function fakeContainers(dir: string, views: Array<Partial<ContainerStatusView> & { id: string }>, cgroupsPath = CG): StatsSource {
  const full = views.map(
    (v) =>
      ({
        podSandboxId: 'podA',
        name: 'app',
        attempt: 0,
        state: 'running',
        image: { requested: 'registry.local/busybox:1', id: 'sha256:abc', ref: 'registry.local/busybox@sha256:def' },
        labels: {},
        annotations: {},
        ...v,
      }) as ContainerStatusView,
  );
  return {
    listContainers: (filter) => full.filter((v) => !filter?.podSandboxId || v.podSandboxId.startsWith(filter.podSandboxId)),
    containerPaths: (id) => (full.some((v) => v.id === id) ? { cgroupsPath, dir: path.join(dir, id), state: 'running' } : undefined),
  };
}

const POD: PodStatsInput = { id: 'podA', name: 'web', namespace: 'default', uid: 'u1', attempt: 0, labels: {}, annotations: {}, cgroupParent: '/kubepods/podA', netnsPid: 4242 };

const NET_DEV = [
  'Inter-|   Receive                                                |  Transmit',
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
  '    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0',
  '  eth0:    5000      40    2    7    0     0          0         0     3000      30    1    5    0     0       0          0',
  '  net1:     600       6    0    0    0     0          0         0      700       7    0    0    0     0       0          0',
].join('\n');

function value(samples: MetricSample[], name: string, extra?: string): number | undefined {
  return samples.find((s) => s.name === name && (extra === undefined || s.labelValues.at(-1) === extra))?.value;
}

describe('runtime/metrics: ListPodSandboxMetrics samples', () => {
  let tmp: string;
  tempDirEach('berth-metrics-', (d) => (tmp = d));

  it('descriptors are unique and every sample uses exactly its descriptor label keys', async () => {
    const names = METRIC_DESCRIPTORS.map((d) => d.name);
    expect(new Set(names).size).to.equal(names.length);
    await writeTree(path.join(tmp, 'cg'), V1_FILES);
    await writeTree(path.join(tmp, 'proc'), { '4242/net/dev': NET_DEV });
    await writeTree(path.join(tmp, 'ctr', 'c1', 'upper'), { 'etc/new-file': 'x'.repeat(10000) });
    const collector = new PodMetricsCollector({ containers: fakeContainers(path.join(tmp, 'ctr'), [{ id: 'c1' }]), cgroupRoot: path.join(tmp, 'cg'), procRoot: path.join(tmp, 'proc') });
    const pm = await collector.podMetrics(POD);
    const all = [...pm.metrics, ...pm.containerMetrics.flatMap((c) => c.metrics)];
    expect(all.length).to.be.greaterThan(30);
    const byName = new Map(METRIC_DESCRIPTORS.map((d) => [d.name, d]));
    const seen = new Set<string>();
    for (const s of all) {
      const desc = byName.get(s.name);
      expect(desc, s.name).to.not.equal(undefined);
      expect(s.labelValues.length, s.name).to.equal(desc!.labelKeys.length);
      expect(s.kind, s.name).to.equal(desc!.kind);
      expect(s.timestampNs).to.equal(0);
      expect(Number.isInteger(s.value) && s.value >= 0, `${s.name}=${s.value}`).to.equal(true);
      const key = `${s.name}|${s.labelValues.join('|')}`;
      expect(seen.has(key), `duplicate series ${key}`).to.equal(false); // Prometheus rejects duplicates
      seen.add(key);
    }
  });

  it('cgroup v1: CPU seconds, memory, OOM, processes and limits of a container, labelled id/name/image', async () => {
    await writeTree(path.join(tmp, 'cg'), V1_FILES);
    const collector = new PodMetricsCollector({ containers: fakeContainers(path.join(tmp, 'ctr'), [{ id: 'c1' }]), cgroupRoot: path.join(tmp, 'cg'), cgroupVersion: 1, nowMs: () => 1_700_000_000_500 });
    const pm = await collector.podMetrics({ ...POD, netnsPid: undefined });
    expect(pm.podSandboxId).to.equal('podA');
    expect(pm.metrics).to.deep.equal([]); // no netns pid: no network samples
    expect(pm.containerMetrics.map((c) => c.containerId)).to.deep.equal(['c1']);
    const m = pm.containerMetrics[0].metrics;
    const cpu = m.find((s) => s.name === 'container_cpu_usage_seconds_total')!;
    expect(cpu).to.deep.equal({ name: 'container_cpu_usage_seconds_total', kind: 'counter', labelValues: ['c1', 'app', 'registry.local/busybox:1', 'total'], value: 3, timestampNs: 0 });
    expect(value(m, 'container_cpu_user_seconds_total')).to.equal(2); // 250 ticks of 10 ms
    expect(value(m, 'container_cpu_system_seconds_total')).to.equal(0); // 0.8 s truncated
    expect(value(m, 'container_cpu_cfs_periods_total')).to.equal(40);
    expect(value(m, 'container_cpu_cfs_throttled_periods_total')).to.equal(3);
    expect(value(m, 'container_cpu_cfs_throttled_seconds_total')).to.equal(2);
    expect(value(m, 'container_memory_usage_bytes')).to.equal(10485760);
    expect(value(m, 'container_memory_max_usage_bytes')).to.equal(20971520);
    expect(value(m, 'container_memory_working_set_bytes')).to.equal(10485760 - 2097152);
    expect(value(m, 'container_memory_rss')).to.equal(6000000); // the hierarchical total_ value
    expect(value(m, 'container_memory_cache')).to.equal(4096000);
    expect(value(m, 'container_memory_mapped_file')).to.equal(1000000);
    expect(value(m, 'container_memory_failcnt')).to.equal(4);
    expect(value(m, 'container_oom_events_total')).to.equal(1);
    expect(value(m, 'container_processes')).to.equal(2);
    expect(value(m, 'container_threads')).to.equal(3);
    expect(value(m, 'container_threads_max')).to.equal(0); // "max": unlimited
    expect(value(m, 'container_spec_memory_limit_bytes')).to.equal(67108864);
    expect(value(m, 'container_spec_memory_reservation_limit_bytes')).to.equal(0); // v1's huge "unlimited"
    expect(value(m, 'container_spec_cpu_shares')).to.equal(512);
    expect(value(m, 'container_spec_cpu_quota')).to.equal(50000);
    expect(value(m, 'container_spec_cpu_period')).to.equal(100000);
    expect(value(m, 'container_last_seen')).to.equal(1_700_000_000);
    expect(m.find((s) => s.name === 'container_memory_working_set_bytes')!.kind).to.equal('gauge');
  });

  it('cgroup v2 (detected from cgroup.controllers): usec counters, memory.events, cpu.max and weight', async () => {
    await writeTree(path.join(tmp, 'cg'), V2_FILES);
    const collector = new PodMetricsCollector({ containers: fakeContainers(path.join(tmp, 'ctr'), [{ id: 'c1' }]), cgroupRoot: path.join(tmp, 'cg') });
    const m = (await collector.podMetrics(POD)).containerMetrics[0].metrics;
    expect(value(m, 'container_cpu_usage_seconds_total', 'total')).to.equal(7);
    expect(value(m, 'container_cpu_user_seconds_total')).to.equal(5);
    expect(value(m, 'container_cpu_system_seconds_total')).to.equal(2);
    expect(value(m, 'container_cpu_cfs_throttled_seconds_total')).to.equal(1);
    expect(value(m, 'container_memory_usage_bytes')).to.equal(8388608);
    expect(value(m, 'container_memory_working_set_bytes')).to.equal(7000000);
    expect(value(m, 'container_memory_max_usage_bytes')).to.equal(9000000);
    expect(value(m, 'container_memory_rss')).to.equal(5000000);
    expect(value(m, 'container_memory_failcnt')).to.equal(6);
    expect(value(m, 'container_oom_events_total')).to.equal(2);
    expect(value(m, 'container_processes')).to.equal(1);
    expect(value(m, 'container_threads')).to.equal(2);
    expect(value(m, 'container_threads_max')).to.equal(200);
    expect(value(m, 'container_spec_memory_limit_bytes')).to.equal(33554432);
    expect(value(m, 'container_spec_cpu_quota')).to.equal(0); // "max"
    expect(value(m, 'container_spec_cpu_period')).to.equal(100000);
    expect(value(m, 'container_spec_cpu_shares')).to.equal(weightToShares(100));
    expect(weightToShares(100)).to.equal(2 + Math.round((99 * 262142) / 9999));
  });

  it('pod network counters per interface (lo excluded), labelled with the pod id, POD and the interface', async () => {
    await writeTree(path.join(tmp, 'proc'), { '4242/net/dev': NET_DEV });
    const collector = new PodMetricsCollector({ containers: fakeContainers(tmp, []), cgroupRoot: path.join(tmp, 'cg'), cgroupVersion: 1, procRoot: path.join(tmp, 'proc') });
    const pm = await collector.podMetrics(POD);
    expect(pm.containerMetrics).to.deep.equal([]);
    expect(pm.metrics).to.have.length(16);
    const rx = pm.metrics.filter((s) => s.name === 'container_network_receive_bytes_total');
    expect(rx.map((s) => [s.labelValues, s.value, s.kind])).to.deep.equal([
      [['podA', 'POD', '', 'eth0'], 5000, 'counter'],
      [['podA', 'POD', '', 'net1'], 600, 'counter'],
    ]);
    expect(value(pm.metrics, 'container_network_receive_packets_dropped_total', 'eth0')).to.equal(7);
    expect(value(pm.metrics, 'container_network_transmit_packets_total', 'eth0')).to.equal(30);
    expect(value(pm.metrics, 'container_network_transmit_errors_total', 'eth0')).to.equal(1);
  });

  it('skips exited containers and other pods; a vanished cgroup leaves only the layer samples', async () => {
    await writeTree(path.join(tmp, 'ctr', 'c2', 'upper'), { f: 'data' });
    const containers = fakeContainers(path.join(tmp, 'ctr'), [{ id: 'c1', state: 'exited' }, { id: 'c2' }, { id: 'c3', podSandboxId: 'podB' }], '/gone');
    const collector = new PodMetricsCollector({ containers, cgroupRoot: path.join(tmp, 'cg'), cgroupVersion: 1 });
    const pm = await collector.podMetrics({ ...POD, netnsPid: 999999999 });
    expect(pm.metrics).to.deep.equal([]); // no such /proc entry
    expect(pm.containerMetrics.map((c) => c.containerId)).to.deep.equal(['c2']);
    const names = pm.containerMetrics[0].metrics.map((s) => s.name);
    expect(names).to.not.include('container_cpu_usage_seconds_total');
    expect(names).to.include.members(['container_fs_usage_bytes', 'container_fs_inodes_usage', 'container_fs_limit_bytes', 'container_last_seen']);
    expect(value(pm.containerMetrics[0].metrics, 'container_fs_inodes_usage')).to.equal(1);
    expect(value(pm.containerMetrics[0].metrics, 'container_fs_usage_bytes')).to.be.greaterThan(0);
  });

  it('systemd cgroupsPath (slice:prefix:name) maps to the directory runc creates', async () => {
    expect(cgroupFsPath('kubepods-burstable-pod12.slice:berth:abc')).to.equal('/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/berth-abc.scope');
    expect(cgroupFsPath('system.slice:berth:abc')).to.equal('/system.slice/berth-abc.scope');
    expect(cgroupFsPath('/kubepods/pod1/berth-abc')).to.equal('/kubepods/pod1/berth-abc');
    expect(cgroupFsPath('kubepods-besteffort-pod9.slice')).to.equal('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice');
    await writeTree(path.join(tmp, 'cg'), { 'cgroup.controllers': '', 'kubepods.slice/kubepods-pod1.slice/berth-c9.scope/memory.current': '4096\n' });
    const sample = await readCgroupMetrics('kubepods-pod1.slice:berth:c9', 2, path.join(tmp, 'cg'));
    expect(sample?.memory.usage).to.equal(4096);
  });

  it('readCgroupMetrics is undefined for a cgroup that does not exist (v1 and v2)', async () => {
    expect(await readCgroupMetrics('/nope', 1, tmp)).to.equal(undefined);
    expect(await readCgroupMetrics('/nope', 2, tmp)).to.equal(undefined);
  });
});
