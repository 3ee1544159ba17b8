/**
 * berthd's Prometheus registry. The CRI server reports every finished RPC through the
 * `RpcObserver` this class implements; domain layers can later receive narrow metric interfaces
 * created from `registry` (one Registry per daemon so two daemons in one test process never mix).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { cniPluginMetrics, containerStepMetrics, imagePullMetrics, podStartStepMetrics, type ContainerStepMetrics, type ImagePullMetrics, type PodStepMetrics } from './layer-metrics';
import type { SpanHooks } from './tracing';

/** What the CRI server calls after each RPC (structurally cri/server.ts's RpcObserver). */
export interface RpcObservation {
  observe(service: 'RuntimeService' | 'ImageService', method: string, code: string, seconds: number): void;
}

/** Metric name prefix shared with cri-o's naming (`container_runtime_crio_operations_total`). */
export const OPERATIONS_PREFIX = 'container_runtime_berth_operations';

/** Latency buckets in seconds: sub-millisecond list calls up to minute-long image pulls. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Finished RPCs kept before they are added to the metrics without a scrape. */
const MAX_PENDING_OBSERVATIONS = 1024;

/** The daemon's metrics. */
export class DaemonMetrics implements RpcObservation {
  readonly registry = new Registry();
  private readonly operations: Counter<'operation' | 'code'>;
  private readonly operationErrors: Counter<'operation' | 'code'>;
  private readonly latency: Histogram<'operation'>;
  /** For the image layer (ImageMetrics). */
  readonly image: ImagePullMetrics;
  /** For the pod layer (PodStartObserver). */
  readonly podStart: PodStepMetrics;
  /** For the container layer (ContainerStepObserver). */
  readonly containerSteps: ContainerStepMetrics;
  /** For the CNI chain's onPluginDone. */
  readonly cniPluginDone: (plugin: string, command: string, ms: number, ok: boolean) => void;
  /**
   * Finished RPCs not yet added to the metrics, as (method, code, seconds) triples. prom-client
   * hashes the labels of every update, which cost an RPC more than the rest of its reply; they are
   * added up when the metrics are read (each metric's collect hook) or once this many wait.
   */
  private pending: Array<string | number> = [];
  /** Label children per RPC name (and gRPC code): the method and code sets are small and fixed. */
  private readonly children = new Map<string, { latency: { observe(v: number): void }; codes: Map<string, { total: { inc(): void }; errors: { inc(): void } | undefined }> }>();
  /** Tracing's child spans, fed by the same observations (daemon/tracing.ts). */
  private spans: SpanHooks | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const collect = (): void => this.addPending();
    this.operations = new Counter({
      name: `${OPERATIONS_PREFIX}_total`,
      help: 'CRI RPCs served, by RPC name and gRPC status code.',
      labelNames: ['operation', 'code'],
      registers: [this.registry],
      collect,
    });
    this.operationErrors = new Counter({
      name: `${OPERATIONS_PREFIX}_errors_total`,
      help: 'CRI RPCs that ended with a status other than OK, by RPC name and gRPC status code.',
      labelNames: ['operation', 'code'],
      registers: [this.registry],
      collect,
    });
    this.latency = new Histogram({
      name: `${OPERATIONS_PREFIX}_latency_seconds`,
      help: 'Time to serve CRI RPCs in seconds, by RPC name.',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
      collect,
    });
    const image = imagePullMetrics(this.registry);
    const podStart = podStartStepMetrics(this.registry);
    const cniPluginDone = cniPluginMetrics(this.registry);
    const containerSteps = containerStepMetrics(this.registry);
    this.image = {
      pullFinished: (outcome, s) => {
        image.pullFinished(outcome, s);
        this.spans?.imagePull(outcome, s);
      },
      bytesPulled: (n) => image.bytesPulled(n),
      pullStep: (step, s, ok, layerDigest) => {
        image.pullStep(step, s, ok);
        this.spans?.imagePullStep(step, s, ok, layerDigest);
      },
    };
    this.containerSteps = {
      observeStep: (op, step, s, ok) => {
        containerSteps.observeStep(op, step, s, ok);
        this.spans?.containerStep(op, step, s, ok);
      },
      cdiDevicesInjected: (n) => containerSteps.cdiDevicesInjected(n),
    };
    this.podStart = {
      observeStep: (step, s) => {
        podStart.observeStep(step, s);
        this.spans?.podStartStep(step, s);
      },
    };
    this.cniPluginDone = (plugin, command, ms, ok) => {
      cniPluginDone(plugin, command, ms, ok);
      this.spans?.cniPlugin(plugin, command, ms / 1000, ok);
    };
    if (opts.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'berth_' });
      renameTotalGauges(this.registry);
    }
  }

  /** Also turns pod start steps, container steps, CNI plugin calls and image pulls (and their steps) into spans (before the layers are built). */
  setSpanHooks(hooks: SpanHooks | undefined): void {
    this.spans = hooks;
  }

  /** Records one finished RPC; the metrics see it when they are next read (see `pending`). */
  observe(_service: 'RuntimeService' | 'ImageService', method: string, code: string, seconds: number): void {
    this.pending.push(method, code, seconds);
    if (this.pending.length >= MAX_PENDING_OBSERVATIONS * 3) this.addPending();
  }

  private addPending(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    for (let i = 0; i < pending.length; i += 3) this.add(pending[i] as string, pending[i + 1] as string, pending[i + 2] as number);
  }

  /** Adds one RPC through label children cached per RPC and code. */
  private add(method: string, code: string, seconds: number): void {
    let byCode = this.children.get(method);
    if (!byCode) {
      byCode = { latency: this.latency.labels({ operation: method }), codes: new Map() };
      this.children.set(method, byCode);
    }
    let counters = byCode.codes.get(code);
    if (!counters) {
      counters = { total: this.operations.labels({ operation: method, code }), errors: code === 'OK' ? undefined : this.operationErrors.labels({ operation: method, code }) };
      byCode.codes.set(code, counters);
    }
    counters.total.inc();
    counters.errors?.inc();
    byCode.latency.observe(seconds);
  }

  /** The exposition text of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * prom-client's defaults include three gauges named `*_total`, a suffix Prometheus reserves for
 * counters (`promtool check metrics` flags them): they are replaced by `*_all` gauges with the
 * same value (the per-type gauges without the suffix stay as they are).
 */
function renameTotalGauges(registry: Registry): void {
  const renamed: Array<[string, string, () => number]> = [
    ['berth_nodejs_active_handles_total', 'Active libuv handles of all types.', () => activeHandles()],
    ['berth_nodejs_active_requests_total', 'Active libuv requests of all types.', () => activeRequests()],
    ['berth_nodejs_active_resources_total', 'Resources of all types keeping the event loop alive.', () => process.getActiveResourcesInfo().length],
  ];
  for (const [old, help, count] of renamed) {
    if (!registry.getSingleMetric(old)) continue;
    registry.removeSingleMetric(old);
    new Gauge({
      name: old.replace(/_total$/, '_all'),
      help,
      registers: [registry],
      collect() {
        this.set(count());
      },
    });
  }
}

/** The internal counts prom-client reads too (no public API gives them). */
function activeHandles(): number {
  const p = process as unknown as { _getActiveHandles?: () => unknown[] };
  return p._getActiveHandles?.().length ?? 0;
}

function activeRequests(): number {
  const p = process as unknown as { _getActiveRequests?: () => unknown[] };
  return p._getActiveRequests?.().length ?? 0;
}
