/**
 * Step timing of CreateContainer, StartContainer and ExecSync: the runtime reports how long each
 * step took to a narrow observer the daemon implements (a histogram and, with tracing on, a child
 * span of the CRI call). Nothing here knows about Prometheus or OpenTelemetry.
 */
import { performance } from 'node:perf_hooks';
import { timeAsync } from '../common/timed';

/** The container operation a step belongs to. */
export type ContainerOp = 'create' | 'start' | 'exec';

/** Receives the duration of each container operation step. */
export interface ContainerStepObserver {
  observeStep(op: ContainerOp, step: string, seconds: number, ok: boolean): void;
  /** `count` CDI devices were injected into a container's spec. */
  cdiDevicesInjected?(count: number): void;
}

/** Runs `fn` and reports its duration as `op`'s step `step` (also when it throws); no timing without an observer. */
export function timeStep<T>(observer: ContainerStepObserver | undefined, op: ContainerOp, step: string, fn: () => Promise<T>): Promise<T> {
  return observer ? timeAsync(fn, (seconds, ok) => observer.observeStep(op, step, seconds, ok)) : fn();
}

/** A running step timer: `end()` reports the time since it started (a no-op without an observer). */
export interface StepTimer {
  end(): void;
}

/** Starts timing `op`'s step `step`; for steps spread over several statements, where wrapping them would reshape the code. */
export function startStep(observer: ContainerStepObserver | undefined, op: ContainerOp, step: string): StepTimer {
  if (!observer) return NO_TIMER;
  const started = performance.now();
  return { end: () => observer.observeStep(op, step, (performance.now() - started) / 1000, true) };
}

const NO_TIMER: StepTimer = { end() {} };
