import { expect } from 'chai';
import type { CriClient } from '../support/cri-client';
import { emptySamples, runCriSequence, runStepsInterleaved, sequenceSteps, SEQUENCE_OPS } from './cri-sequence';

/** A CRI client that keeps pods, containers and images in maps and logs every call. */
function fakeClient(name: string, log: string[]) {
  let next = 0;
  const pods = new Set<string>();
  const containers = new Set<string>();
  const images = new Set<string>();
  const call = (rpc: string) => log.push(`${name}:${rpc}`);
  const client = {
    imageStatus: async (req: { image: { image: string } }) => (call('ImageStatus'), { image: images.has(req.image.image) ? { id: req.image.image } : null }),
    pullImage: async (req: { image: { image: string } }) => (call('PullImage'), images.add(req.image.image), { imageRef: req.image.image }),
    removeImage: async (req: { image: { image: string } }) => (call('RemoveImage'), images.delete(req.image.image), {}),
    runPodSandbox: async () => (call('RunPodSandbox'), pods.add(`p${++next}`), { podSandboxId: `p${next}` }),
    podSandboxStatus: async () => (call('PodSandboxStatus'), {}),
    stopPodSandbox: async () => (call('StopPodSandbox'), {}),
    removePodSandbox: async (req: { podSandboxId: string }) => (call('RemovePodSandbox'), pods.delete(req.podSandboxId), {}),
    createContainer: async () => (call('CreateContainer'), containers.add(`c${++next}`), { containerId: `c${next}` }),
    startContainer: async () => (call('StartContainer'), {}),
    containerStatus: async () => (call('ContainerStatus'), {}),
    stopContainer: async () => (call('StopContainer'), {}),
    removeContainer: async (req: { containerId: string }) => (call('RemoveContainer'), containers.delete(req.containerId), {}),
  };
  return { client: client as unknown as CriClient, pods, containers, images };
}

const opts = { containerImage: 'reg/busybox', pullImage: 'reg/pull', cgroupParent: '/bench', logDirectory: '/tmp/logs', namePrefix: 't', pods: 3, containers: 2, pulls: 2, scratch: 1, warmupCalls: 0 };

describe('bench: CRI sequence', () => {
  it('takes one sample per cycle for every operation and leaves no pod or container behind', async () => {
    const log: string[] = [];
    const f = fakeClient('a', log);
    const samples = await runCriSequence(f.client, opts);
    const counts = Object.fromEntries(SEQUENCE_OPS.map((op) => [op, samples[op].length]));
    expect(counts).to.deep.equal({
      RunPodSandbox: 3, PodSandboxStatus: 3, StopPodSandbox: 3, RemovePodSandbox: 3,
      CreateContainer: 2, StartContainer: 2, ContainerStatus: 2, StopContainer: 2, RemoveContainer: 2,
      PullImage: 2, ImageStatus: 2, RemoveImage: 2, PodAndContainerFromScratch: 1,
    });
    expect(f.pods.size).to.equal(0);
    expect(f.images.has('reg/pull')).to.equal(false);
    expect(f.images.has('reg/busybox')).to.equal(true);
    expect(Object.values(samples).flat().every((ms) => ms >= 0)).to.equal(true);
  });

  it('interleaves two runtimes step by step', async () => {
    const log: string[] = [];
    const a = fakeClient('a', log);
    const b = fakeClient('b', log);
    const [sa, sb] = [emptySamples(), emptySamples()];
    await runStepsInterleaved([sequenceSteps(a.client, opts, sa), sequenceSteps(b.client, opts, sb)]);
    const runs = log.filter((l) => l.endsWith(':RunPodSandbox')).map((l) => l[0]);
    // pods ×3, the container pod, scratch ×1, alternating a/b
    expect(runs.join('')).to.equal('ababababab');
    expect(sa.RunPodSandbox).to.have.length(3);
    expect(sb.RunPodSandbox).to.have.length(3);
  });
});

describe('bench: CRI sequence warm-up', () => {
  it('makes the status calls unmeasured, on a pod it removes again, before the first measured pod', async () => {
    const log: string[] = [];
    const f = fakeClient('a', log);
    const samples = await runCriSequence(f.client, { ...opts, warmupCalls: 2 });
    const firstMeasuredRun = log.indexOf('a:RunPodSandbox', log.indexOf('a:RunPodSandbox') + 1);
    const warmup = log.slice(0, firstMeasuredRun);
    expect(warmup.filter((l) => l === 'a:ContainerStatus')).to.have.length(2);
    expect(warmup.filter((l) => l === 'a:PodSandboxStatus')).to.have.length(2);
    expect(warmup.filter((l) => l === 'a:ImageStatus')).to.have.length(3);
    expect(warmup).to.include('a:RemovePodSandbox');
    expect(samples.ContainerStatus).to.have.length(2);
    expect(samples.PodSandboxStatus).to.have.length(3);
    expect(f.pods.size).to.equal(0);
  });
});

describe('bench: pod start step histogram summary', () => {
  it('reads count and mean per step from Prometheus text', async () => {
    const { summarizeStepHistogram } = await import('./run-targets');
    const text = [
      '# TYPE container_runtime_berth_pod_start_step_seconds histogram',
      'container_runtime_berth_pod_start_step_seconds_bucket{le="0.005",step="cni"} 0',
      'container_runtime_berth_pod_start_step_seconds_sum{step="cni"} 2.5',
      'container_runtime_berth_pod_start_step_seconds_count{step="cni"} 25',
      'container_runtime_berth_pod_start_step_seconds_sum{step="pause"} 0.1',
      'container_runtime_berth_pod_start_step_seconds_count{step="pause"} 20',
      'container_runtime_berth_pod_start_step_seconds_count{step="unused"} 0',
    ].join('\n');
    expect(summarizeStepHistogram(text)).to.deep.equal([
      { step: 'cni', count: 25, meanMs: 100 },
      { step: 'pause', count: 20, meanMs: 5 },
    ]);
  });
});
