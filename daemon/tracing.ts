/**
 * Tracing switch: with `[tracing] endpoint` empty (the default) nothing here loads OpenTelemetry
 * and the daemon's hooks stay unset; otherwise tracing-otel.ts is required on demand and gives
 * the hooks below. The CRI dispatcher calls `beginCall` (one server span per call, continuing the
 * caller's W3C trace context); the metric observers the layers already report to (pod start
 * steps, container create/start/exec steps, CNI plugin calls, image pulls and their steps) add child spans of the call they happen in.
 */
import type { Logger } from '../common/logger';
import type { RpcObserver } from '../cri/rpc-dispatch';
import type { BerthConfig } from './config-schema';

/** Child-span hooks fed by the metric observers (durations end "now"). */
export interface SpanHooks {
  podStartStep(step: string, seconds: number): void;
  cniPlugin(plugin: string, command: string, seconds: number, ok: boolean): void;
  imagePull(outcome: 'success' | 'failure', seconds: number): void;
  /** A pull's manifest fetch, or one layer's download and unpack (`layerDigest`). */
  imagePullStep(step: 'manifest fetch' | 'layer', seconds: number, ok: boolean, layerDigest?: string): void;
  /** A CreateContainer, StartContainer or ExecSync step. */
  containerStep(op: 'create' | 'start' | 'exec', step: string, seconds: number, ok: boolean): void;
}

/** A running tracer. */
export interface DaemonTracing extends SpanHooks {
  beginCall: NonNullable<RpcObserver['beginCall']>;
  /** Exports what is buffered and stops; bounded by `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** The tracer for `config`, or undefined when tracing is off (no OpenTelemetry code loaded). */
export function startTracing(config: Pick<BerthConfig, 'tracingEndpoint' | 'tracingSamplingRate' | 'tracingServiceName'>, version: string, logger: Logger): DaemonTracing | undefined {
  if (config.tracingEndpoint === '') return undefined;
  // Required here, not imported: the SDK and exporter cost startup time and memory when unused.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the file comment
  const otel = require('./tracing-otel') as typeof import('./tracing-otel');
  return otel.createOtelTracing({
    endpoint: config.tracingEndpoint,
    samplingRate: config.tracingSamplingRate,
    serviceName: config.tracingServiceName,
    version,
    logger,
  });
}
