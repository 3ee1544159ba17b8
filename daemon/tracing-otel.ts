/**
 * The OpenTelemetry implementation of DaemonTracing (loaded only when tracing is configured):
 * a private tracer provider (nothing registered globally, so two daemons in one process never
 * mix), parent-based ratio sampling, a batch processor exporting OTLP/HTTP JSON (http://, https://)
 * or OTLP/gRPC (grpc:// plaintext, grpcs:// TLS). The active call
 * is carried in an AsyncLocalStorage, so observers deep in the layers find their parent span
 * without any OpenTelemetry import in the domain folders.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../common/logger';
import type { RpcCallScope } from '../cri/rpc-dispatch';
import { callAttributes } from './tracing-attributes';
import type { DaemonTracing } from './tracing';

/** Options of createOtelTracing; `exporter` replaces the OTLP exporter (tests). */
export interface OtelTracingOptions {
  endpoint: string;
  samplingRate: number;
  serviceName: string;
  version: string;
  logger: Logger;
  exporter?: SpanExporter;
}

/** gRPC status code numbers by name, for rpc.grpc.status_code. */
const GRPC_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/** Longest error text put on a span status. */
const MAX_STATUS_MESSAGE = 512;

const metadataGetter: TextMapGetter<(key: string) => string | undefined> = {
  get: (carrier, key) => carrier(key),
  keys: () => ['traceparent', 'tracestate'],
};

/** Builds the tracer; spans go to `endpoint` (OTLP/HTTP JSON) unless `exporter` is given. */
export function createOtelTracing(opts: OtelTracingOptions): DaemonTracing {
  const exporter = opts.exporter ?? otlpExporter(opts.endpoint);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName, [ATTR_SERVICE_VERSION]: opts.version }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.samplingRate) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('berth', opts.version);
  const propagator = new W3CTraceContextPropagator();
  const active = new AsyncLocalStorage<Context>();
  opts.logger.info('tracing on', { endpoint: opts.endpoint, samplingRate: opts.samplingRate, serviceName: opts.serviceName });

  /** A finished child of the active call: it ran for `seconds` until now. */
  const child = (name: string, seconds: number, attributes: Record<string, string | number | boolean>, ok = true): void => {
    const parent = active.getStore();
    if (!parent || !trace.getSpan(parent)?.isRecording()) return;
    const end = performance.timeOrigin + performance.now();
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: end - seconds * 1000, attributes }, parent);
    if (!ok) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(end);
  };

  return {
    beginCall(service, method, metadata) {
      const parent = propagator.extract(ROOT_CONTEXT, metadata, metadataGetter);
      const rpcService = `runtime.v1.${service}`;
      const span = tracer.startSpan(`${rpcService}/${method}`, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': rpcService, 'rpc.method': method } }, parent);
      return callScope(span, trace.setSpan(parent, span), active);
    },
    podStartStep: (step, seconds) => child(`pod start: ${step}`, seconds, { 'berth.pod_start.step': step }),
    cniPlugin: (plugin, command, seconds, ok) => child(`cni ${command}: ${plugin}`, seconds, { 'berth.cni.plugin': plugin, 'berth.cni.command': command }, ok),
    imagePull: (outcome, seconds) => child('image pull', seconds, { 'berth.image.pull.outcome': outcome }, outcome === 'success'),
    imagePullStep: (step, seconds, ok, layerDigest) =>
      child(`image pull: ${step}`, seconds, { 'berth.image.pull.step': step, ...(layerDigest ? { 'berth.image.layer.digest': layerDigest } : {}) }, ok),
    containerStep: (op, step, seconds, ok) => child(`container ${op}: ${step}`, seconds, { 'berth.container.op': op, 'berth.container.step': step }, ok),
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      try {
        await Promise.race([provider.shutdown(), timeout]);
      } catch (err) {
        opts.logger.warn('tracing shutdown failed', { err });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The OTLP exporter for `endpoint`'s scheme; only the one used is loaded. */
export function otlpExporter(endpoint: string): SpanExporter {
  const url = new URL(endpoint);
  if (url.protocol === 'grpc:' || url.protocol === 'grpcs:') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: gRPC export is the rarer choice
    const grpc = require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
    // The gRPC exporter reads http:// as plaintext and https:// as TLS.
    return new grpc.OTLPTraceExporter({ url: `${url.protocol === 'grpcs:' ? 'https' : 'http'}://${url.host}` });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, like the gRPC one
  const httpJson = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  return new httpJson.OTLPTraceExporter({ url: endpoint });
}

function callScope(span: Span, ctx: Context, active: AsyncLocalStorage<Context>): RpcCallScope {
  const recording = span.isRecording();
  return {
    run: (fn) => active.run(ctx, fn),
    request(message) {
      if (recording) span.setAttributes(callAttributes(message));
    },
    response(message) {
      if (recording) span.setAttributes(callAttributes(message));
    },
    end(code, err) {
      span.setAttribute('rpc.grpc.status_code', GRPC_CODES[code] ?? 2);
      if (code !== 'OK') {
        const message = err instanceof Error ? err.message : code;
        span.setStatus({ code: SpanStatusCode.ERROR, message: message.length > MAX_STATUS_MESSAGE ? `${message.slice(0, MAX_STATUS_MESSAGE)}...` : message });
      }
      span.end();
    },
  };
}
