import { expect } from 'chai';
import { NotFoundError } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import { rejection } from '../../common/testing/rejection-fixtures';
import type { PodMetricsService, PodSandboxMetricsView } from '../../runtime/metrics-collector';
import { METRIC_DESCRIPTORS } from '../../runtime/metrics-descriptors';
import type { PodStatsInput } from '../../runtime/pod-stats';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { podMetricsHandlers } from './metrics-handlers';
import type { PodStatsSource } from './pod-stats-convert';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

function podsSource(ids: string[], gone: string[] = []): PodStatsSource {
  return {
    listPodSandboxes: () => ids.map((id) => ({ id })),
    podSandboxStatus: (id) => {
      if (gone.includes(id)) throw new NotFoundError(`pod sandbox ${id} not found`);
      return { id, name: `n-${id}`, namespace: 'default', uid: `u-${id}`, attempt: 0, labels: {}, annotations: {}, cgroupParent: `/kubepods/${id}`, verbose: { pausePid: 77 } };
    },
  };
}

function fakeMetrics(seen: PodStatsInput[]): PodMetricsService {
  return {
    descriptors: () => METRIC_DESCRIPTORS,
    podMetrics: async (pod): Promise<PodSandboxMetricsView> => {
      seen.push(pod);
      return {
        podSandboxId: pod.id,
        metrics: [{ name: 'container_network_receive_bytes_total', kind: 'counter', labelValues: [pod.id, 'POD', '', 'eth0'], value: 1234, timestampNs: 0 }],
        containerMetrics: [{ containerId: `c-${pod.id}`, metrics: [{ name: 'container_memory_working_set_bytes', kind: 'gauge', labelValues: [`c-${pod.id}`, 'app', 'img'], value: 2 ** 40, timestampNs: 0 }] }],
      };
    },
  };
}

describe('cri/runtime/metrics-handlers', () => {
  it('ListMetricDescriptors returns every descriptor with its label keys, and survives the wire', async () => {
    const h = podMetricsHandlers({ metrics: fakeMetrics([]), pods: podsSource([]) });
    const res = await h.ListMetricDescriptors!({}, call);
    const wire = runtime.v1.ListMetricDescriptorsResponse.decode(runtime.v1.ListMetricDescriptorsResponse.encode(res).finish());
    expect(wire.descriptors.map((d) => d.name)).to.include.members(['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'container_network_transmit_bytes_total', 'container_spec_memory_limit_bytes']);
    const cpu = wire.descriptors.find((d) => d.name === 'container_cpu_usage_seconds_total')!;
    expect(cpu.labelKeys).to.deep.equal(['id', 'name', 'image', 'cpu']);
    expect(cpu.help).to.match(/CPU time/);
    expect(wire.descriptors).to.have.length(METRIC_DESCRIPTORS.length);
  });

  it('ListPodSandboxMetrics asks for every pod with its pause pid, skips pods removed meanwhile, and encodes types and values', async () => {
    const seen: PodStatsInput[] = [];
    const h = podMetricsHandlers({ metrics: fakeMetrics(seen), pods: podsSource(['p1', 'p2', 'p3'], ['p2']) });
    const res = await h.ListPodSandboxMetrics!({}, call);
    expect(seen.map((p) => [p.id, p.netnsPid, p.cgroupParent])).to.deep.equal([
      ['p1', 77, '/kubepods/p1'],
      ['p3', 77, '/kubepods/p3'],
    ]);
    const wire = runtime.v1.ListPodSandboxMetricsResponse.decode(runtime.v1.ListPodSandboxMetricsResponse.encode(res).finish());
    expect(wire.podMetrics.map((p) => p.podSandboxId)).to.deep.equal(['p1', 'p3']);
    const net = wire.podMetrics[0].metrics![0];
    expect(net.metricType).to.equal(runtime.v1.MetricType.COUNTER);
    expect(net.labelValues).to.deep.equal(['p1', 'POD', '', 'eth0']);
    expect(Number(net.value!.value)).to.equal(1234);
    const mem = wire.podMetrics[1].containerMetrics![0];
    expect(mem.containerId).to.equal('c-p3');
    expect(mem.metrics![0].metricType).to.equal(runtime.v1.MetricType.GAUGE);
    expect(Number(mem.metrics![0].value!.value)).to.equal(2 ** 40);
  });

  it('StreamPodSandboxMetrics writes one message per pod (skipping removed pods)', async () => {
    const h = podMetricsHandlers({ metrics: fakeMetrics([]), pods: podsSource(['p1', 'p2', 'p3'], ['p2']) });
    const written: runtime.v1.IStreamPodSandboxMetricsResponse[] = [];
    await h.StreamPodSandboxMetrics!({}, { ...call, write: async (m) => void written.push(m) });
    expect(written.map((m) => m.podSandboxMetrics!.map((p) => p.podSandboxId))).to.deep.equal([['p1'], ['p3']]);
    const wire = runtime.v1.StreamPodSandboxMetricsResponse.decode(runtime.v1.StreamPodSandboxMetricsResponse.encode(written[1]).finish());
    expect(wire.podSandboxMetrics[0].containerMetrics![0].containerId).to.equal('c-p3');
  });

  it('a non-NotFound failure of one pod fails the call (never a silent partial answer)', async () => {
    const metrics: PodMetricsService = { descriptors: () => [], podMetrics: async () => Promise.reject(new Error('disk on fire')) };
    const h = podMetricsHandlers({ metrics, pods: podsSource(['p1']) });
    expect(String(await rejection(h.ListPodSandboxMetrics!({}, call)))).to.match(/disk on fire/);
  });
});
