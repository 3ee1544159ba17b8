import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { ImageMetrics } from '../image/metrics';
import type { PodStartObserver } from '../pod/dependencies';
import { cniPluginMetrics, imagePullMetrics, podStartStepMetrics } from './layer-metrics';

describe('daemon/layer-metrics', () => {
  it('implements the image and pod layer interfaces and records into the registry', async () => {
    const registry = new Registry();
    const image: ImageMetrics = imagePullMetrics(registry);
    const pod: PodStartObserver = podStartStepMetrics(registry);
    const cni = cniPluginMetrics(registry);
    image.pullFinished('success', 1.5);
    image.pullFinished('failure', 0.2);
    image.bytesPulled(1000);
    image.bytesPulled(24);
    image.pullStep?.('layer', 0.3, true, 'sha256:abc');
    image.pullStep?.('manifest fetch', 0.02, false);
    pod.observeStep('pause', 0.004);
    cni('bridge', 'ADD', 30, true);
    const text = await registry.metrics();
    expect(text).to.contain('container_runtime_berth_image_pulls_total{outcome="success"} 1');
    expect(text).to.contain('container_runtime_berth_image_pulls_total{outcome="failure"} 1');
    expect(text).to.contain('container_runtime_berth_image_pulled_bytes_total 1024');
    expect(text).to.contain('container_runtime_berth_pod_start_step_seconds_bucket{le="0.005",step="pause"} 1');
    expect(text).to.contain('container_runtime_berth_pod_start_step_seconds_bucket{le="0.0025",step="pause"} 0');
    expect(text).to.contain('container_runtime_berth_image_pull_step_seconds_bucket{le="0.5",step="layer",outcome="success"} 1');
    expect(text).to.contain('container_runtime_berth_image_pull_step_seconds_count{step="manifest fetch",outcome="failure"} 1');
    expect(text).not.to.contain('sha256:abc');
    expect(text).to.contain('container_runtime_berth_cni_plugin_seconds_sum{plugin="bridge",command="ADD",outcome="success"} 0.03');
  });
});
