/**
 * prom-client implementations of the narrow metric interfaces the domain layers declare
 * (image/metrics.ts ImageMetrics, pod/dependencies.ts PodStartObserver, runtime/step-observer.ts
 * ContainerStepObserver, the CNI chain's
 * onPluginDone callback). They register on the daemon's registry; the integrator hands them to
 * the layers in daemon/layers.ts.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

const PREFIX = 'container_runtime_berth';
const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const PULL_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Structurally image/metrics.ts ImageMetrics. */
export interface ImagePullMetrics {
  pullFinished(outcome: 'success' | 'failure', seconds: number): void;
  bytesPulled(bytes: number): void;
  pullStep(step: 'manifest fetch' | 'layer', seconds: number, ok: boolean, layerDigest?: string): void;
}

/** Image pulls: count by outcome, duration, bytes. */
export function imagePullMetrics(registry: Registry): ImagePullMetrics {
  const pulls = new Counter({ name: `${PREFIX}_image_pulls_total`, help: 'Image pulls by outcome (success, failure).', labelNames: ['outcome'], registers: [registry] });
  const seconds = new Histogram({ name: `${PREFIX}_image_pull_seconds`, help: 'Duration of image pulls in seconds, by outcome.', labelNames: ['outcome'], buckets: PULL_BUCKETS, registers: [registry] });
  const bytes = new Counter({ name: `${PREFIX}_image_pulled_bytes_total`, help: 'Compressed bytes received from registries.', registers: [registry] });
  const steps = new Histogram({ name: `${PREFIX}_image_pull_step_seconds`, help: 'Duration of image pull steps in seconds: manifest fetch (with the config), each layer download and unpack.', labelNames: ['step', 'outcome'], buckets: PULL_BUCKETS, registers: [registry] });
  return {
    pullStep(step, s, ok) {
      steps.observe({ step, outcome: ok ? 'success' : 'failure' }, s);
    },
    pullFinished(outcome, s) {
      pulls.inc({ outcome });
      seconds.observe({ outcome }, s);
    },
    bytesPulled(n) {
      bytes.inc(n);
    },
  };
}

/** Structurally pod/dependencies.ts PodStartObserver. */
export interface PodStepMetrics {
  observeStep(step: string, seconds: number): void;
}

/** Duration of each RunPodSandbox step (files, shm, cgroup, netns, pause, pin, cni, state). */
export function podStartStepMetrics(registry: Registry): PodStepMetrics {
  const steps = new Histogram({ name: `${PREFIX}_pod_start_step_seconds`, help: 'Duration of each RunPodSandbox step in seconds.', labelNames: ['step'], buckets: STEP_BUCKETS, registers: [registry] });
  return { observeStep: (step, s) => steps.observe({ step }, s) };
}

/** Structurally runtime/step-observer.ts ContainerStepObserver. */
export interface ContainerStepMetrics {
  observeStep(op: 'create' | 'start' | 'exec', step: string, seconds: number, ok: boolean): void;
  cdiDevicesInjected(count: number): void;
}

/** Duration of each CreateContainer, StartContainer and ExecSync step. */
export function containerStepMetrics(registry: Registry): ContainerStepMetrics {
  const steps = new Histogram({ name: `${PREFIX}_container_step_seconds`, help: 'Duration of container operation steps in seconds, by operation (create, start, exec), step and outcome.', labelNames: ['op', 'step', 'outcome'], buckets: STEP_BUCKETS, registers: [registry] });
  const cdi = new Counter({ name: `${PREFIX}_cdi_devices_injected_total`, help: 'CDI devices injected into container specs by CreateContainer.', registers: [registry] });
  return {
    observeStep: (op, step, s, ok) => steps.observe({ op, step, outcome: ok ? 'success' : 'failure' }, s),
    cdiDevicesInjected: (n) => cdi.inc(n),
  };
}

/** CNI plugin calls: the CNI chain's `onPluginDone(plugin, command, ms, ok)` callback. */
export function cniPluginMetrics(registry: Registry): (plugin: string, command: string, ms: number, ok: boolean) => void {
  const calls = new Histogram({ name: `${PREFIX}_cni_plugin_seconds`, help: 'Duration of CNI plugin invocations in seconds, by plugin, command and outcome.', labelNames: ['plugin', 'command', 'outcome'], buckets: STEP_BUCKETS, registers: [registry] });
  return (plugin, command, ms, ok) => calls.observe({ plugin, command, outcome: ok ? 'success' : 'failure' }, ms / 1000);
}
