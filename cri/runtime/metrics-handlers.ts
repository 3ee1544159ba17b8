/**
 * ListMetricDescriptors and ListPodSandboxMetrics (kubelet's /metrics/cadvisor source when the
 * PodAndContainerStatsFromCRI gate is on), and StreamPodSandboxMetrics (the same, one pod per
 * message, for kubelet's CRIListStreaming gate). The samples come from runtime/'s PodMetricsCollector;
 * the pods from the pod layer (the same PodStatsSource the pod stats handlers use).
 */
import { errorKindOf } from '../../common/errors';
import type { MetricSample, PodMetricsService, PodSandboxMetricsView } from '../../runtime/metrics-collector';
import type { MetricDescriptorView } from '../../runtime/metrics-descriptors';
import { runtime } from '../api/generated/cri';
import type { CallContext, CriHandlers, StreamCallContext } from '../handlers';
import { podStatsInput, type PodStatsSource } from './pod-stats-convert';

/** Dependencies of the metrics handlers. */
export interface PodMetricsHandlerDeps {
  /** runtime/PodMetricsCollector fits. */
  metrics: PodMetricsService;
  /** pod/PodManager fits. */
  pods: PodStatsSource;
}

/** One CRI MetricDescriptor. */
function descriptorToWire(d: MetricDescriptorView): runtime.v1.IMetricDescriptor {
  return { name: d.name, help: d.help, labelKeys: [...d.labelKeys] };
}

/** One CRI Metric. */
function metricToWire(m: MetricSample): runtime.v1.IMetric {
  return {
    name: m.name,
    timestamp: m.timestampNs,
    metricType: m.kind === 'counter' ? runtime.v1.MetricType.COUNTER : runtime.v1.MetricType.GAUGE,
    labelValues: m.labelValues,
    value: { value: m.value },
  };
}

/** One CRI PodSandboxMetrics. */
function podMetricsToWire(p: PodSandboxMetricsView): runtime.v1.IPodSandboxMetrics {
  return {
    podSandboxId: p.podSandboxId,
    metrics: p.metrics.map(metricToWire),
    containerMetrics: p.containerMetrics.map((c) => ({ containerId: c.containerId, metrics: c.metrics.map(metricToWire) })),
  };
}

/** Metrics of every pod, one at a time; pods removed meanwhile are skipped. */
async function* eachPodMetrics(deps: PodMetricsHandlerDeps, signal: AbortSignal): AsyncGenerator<runtime.v1.IPodSandboxMetrics> {
  for (const { id } of deps.pods.listPodSandboxes()) {
    if (signal.aborted) return;
    let pm: PodSandboxMetricsView;
    try {
      pm = await deps.metrics.podMetrics(podStatsInput(deps.pods.podSandboxStatus(id)));
    } catch (err) {
      if (errorKindOf(err) === 'NotFound') continue; // removed meanwhile
      throw err;
    }
    yield podMetricsToWire(pm);
  }
}

/** The ListMetricDescriptors, ListPodSandboxMetrics and StreamPodSandboxMetrics handlers. */
export function podMetricsHandlers(deps: PodMetricsHandlerDeps): CriHandlers {
  const descriptors = deps.metrics.descriptors().map(descriptorToWire);
  return {
    ListMetricDescriptors: async (_request: runtime.v1.IListMetricDescriptorsRequest, _call: CallContext): Promise<runtime.v1.IListMetricDescriptorsResponse> => ({
      descriptors,
    }),
    ListPodSandboxMetrics: async (_request: runtime.v1.IListPodSandboxMetricsRequest, call: CallContext): Promise<runtime.v1.IListPodSandboxMetricsResponse> => {
      const podMetrics: runtime.v1.IPodSandboxMetrics[] = [];
      for await (const pm of eachPodMetrics(deps, call.signal)) podMetrics.push(pm);
      return { podMetrics };
    },
    StreamPodSandboxMetrics: async (_request: runtime.v1.IStreamPodSandboxMetricsRequest, call: StreamCallContext<runtime.v1.IStreamPodSandboxMetricsResponse>): Promise<void> => {
      for await (const pm of eachPodMetrics(deps, call.signal)) await call.write({ podSandboxMetrics: [pm] });
    },
  };
}
