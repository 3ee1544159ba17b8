/**
 * In-process microbenchmark of ListContainers and ListPodSandbox with 110 containers and 110 pods
 * on fakes (kubelet's labels and annotations): the handler plus the codec the server sends with,
 * against converting and encoding every item on every call (the per-call work the cached
 * encodings replace), interleaved in one process. Run: `node dist/test/bench/list-answers-micro.js`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { PodManager } from '../../pod/pod-manager';
import { fakePodManagerOptions } from '../../pod/testing/pod-manager-fixtures';
import { ContainerManager } from '../../runtime/container-manager';
import { fakeManagerOptions, managerFakes, shContainerConfig } from '../../runtime/testing/container-manager-fixtures';
import { runtime } from '../../cri/api/generated/cri';
import { CRI_METHODS, type CallContext } from '../../cri/handlers';
import { containerHandlers } from '../../cri/runtime/container-handlers';
import { containerToWire } from '../../cri/runtime/container-response-convert';
import { podToWire } from '../../cri/runtime/list-pod-sandbox';
import { podSandboxHandlers } from '../../cri/runtime/pod-handlers';

const ITEMS = 110;
const CALLS = 300;
const ROUNDS = 12;
const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

/** Labels and annotations as kubelet sets them on container `i`. */
function kubeletMetadata(i: number): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { 'io.kubernetes.pod.name': `web-${i}-7d9f8c6b5-x2k4p`, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': `0f6c1e2a-5b7d-4c1e-9a3f-${String(i).padStart(12, '0')}`, 'io.kubernetes.container.name': `app-${i}` },
    annotations: { 'io.kubernetes.container.hash': 'c5d1a2b3', 'io.kubernetes.container.restartCount': '0', 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log', 'io.kubernetes.container.terminationMessagePolicy': 'File', 'io.kubernetes.pod.terminationGracePeriod': '30' },
  };
}

/** Median microseconds per call of `fn` (called CALLS times per sample). */
async function microsPerCall(fn: () => Promise<number>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1000 / CALLS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-list-micro-'));
  const fakes = managerFakes(dir);
  const containers = await ContainerManager.open(fakeManagerOptions(dir, fakes));
  const pods = await PodManager.create(fakePodManagerOptions(path.join(dir, 'pods-root')));
  try {
    for (let i = 0; i < ITEMS; i++) {
      const id = await containers.createContainer('pod1', shContainerConfig({ name: `c${i}`, logPath: `c${i}/0.log`, ...kubeletMetadata(i) }));
      if (i % 10 !== 0) await containers.startContainer(id);
      const { labels } = kubeletMetadata(i);
      const annotations = { 'kubernetes.io/config.seen': '2026-12-07T15:00:00.000000000Z', 'kubernetes.io/config.source': 'api' };
      await pods.runPodSandbox({ metadata: { name: `web-${i}`, namespace: 'default', uid: `u${i}`, attempt: 0 }, labels: { ...labels, app: 'web' }, annotations }, 'runc');
    }
    const ch = containerHandlers({ containers });
    const ph = podSandboxHandlers({ pods });
    const variants: Record<string, () => Promise<number>> = {
      'ListContainers, every item encoded per call': async () => runtime.v1.ListContainersResponse.encode({ containers: containers.listContainers().map(containerToWire) }).finish().length,
      'ListContainers, handler + preEncoded codec': async () => CRI_METHODS.ListContainers.response.encode(await ch.ListContainers!({ filter: {} }, call)).finish().length,
      'ListPodSandbox, every item encoded per call': async () => runtime.v1.ListPodSandboxResponse.encode({ items: pods.listPodSandboxes().map(podToWire) }).finish().length,
      'ListPodSandbox, handler + preEncoded codec': async () => CRI_METHODS.ListPodSandbox.response.encode(await ph.ListPodSandbox!({ filter: {} }, call)).finish().length,
    };
    const samples = new Map<string, number[]>(Object.keys(variants).map((name) => [name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const names = Object.keys(variants);
      for (const name of round % 2 === 0 ? names : names.reverse()) samples.get(name)!.push(await microsPerCall(variants[name]));
    }
    for (const [name, xs] of samples) console.log(`${name.padEnd(46)} ${median(xs).toFixed(1).padStart(7)} µs/call (median of ${ROUNDS})`);
  } finally {
    containers.close();
    pods.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
