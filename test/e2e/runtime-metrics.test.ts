/**
 * ListMetricDescriptors / ListPodSandboxMetrics through a real berthd: a pod (pause + CNI) with a
 * container burning CPU and serving HTTP under a memory limit; the host fetches a page from the
 * pod IP so the pod's eth0 carries traffic. Checks the numbers are real (non-zero, consistent
 * with ContainerStats and the cgroup limits asked for) and the labels match the descriptors.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { runtime } from '../../cri/api/generated/cri';
import { CriStack } from './support/cri-stack';

const MEMORY_LIMIT = 64 * 1024 * 1024;

/** GET / from host:port with a raw HTTP/1.0 request; resolves with the whole answer. */
function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port }, () => sock.write('GET / HTTP/1.0\r\n\r\n'));
    let text = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('timeout')));
    sock.on('data', (d) => (text += d.toString()));
    sock.on('end', () => resolve(text));
    sock.on('error', reject);
  });
}

describe('e2e runtime: pod and container metrics through berthd', function () {
  this.timeout(120_000);
  const stack = new CriStack('metrics');
  let podId = '';
  let containerId = '';
  let podIp = '';

  before(async () => {
    await stack.start({
      prepare: (work) => {
        fs.mkdirSync(path.join(work, 'www'));
        fs.writeFileSync(path.join(work, 'www', 'index.html'), 'x'.repeat(20_000));
      },
    });
    podId = await stack.runPod(stack.podConfig());
    podIp = (await stack.client.podSandboxStatus({ podSandboxId: podId })).status?.network?.ip ?? '';
    containerId =
      (
        await stack.client.createContainer({
          podSandboxId: podId,
          config: {
            metadata: { name: 'burner', attempt: 0 },
            image: { image: stack.image },
            // a busy loop for CPU seconds, httpd for network traffic, a 64 MiB limit for the spec metric
            command: ['sh', '-c', '(while :; do :; done) & exec httpd -f -p 8080 -h /www'],
            logPath: 'burner.log',
            mounts: [{ containerPath: '/www', hostPath: path.join(stack.work, 'www'), readonly: true }],
            linux: { resources: { memoryLimitInBytes: MEMORY_LIMIT, cpuShares: 512 } },
          },
          sandboxConfig: stack.podConfig(),
        })
      ).containerId ?? '';
    await stack.client.startContainer({ containerId });
  });

  after(() => stack.stop());

  /** The pod's metrics, polled until `ready` accepts them. */
  async function podMetrics(ready: (p: runtime.v1.IPodSandboxMetrics) => boolean): Promise<runtime.v1.IPodSandboxMetrics> {
    let last: runtime.v1.IPodSandboxMetrics | undefined;
    for (let i = 0; i < 100; i++) {
      const res = await stack.client.listPodSandboxMetrics({});
      last = (res.podMetrics ?? []).find((p) => p.podSandboxId === podId);
      if (last && ready(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`pod metrics never got ready: ${JSON.stringify(last)}`);
  }

  const valueOf = (metrics: runtime.v1.IMetric[] | null | undefined, name: string, last?: string) =>
    Number((metrics ?? []).find((m) => m.name === name && (last === undefined || m.labelValues?.at(-1) === last))?.value?.value ?? -1);

  it('describes every metric it reports, with label values matching the label keys', async () => {
    const { descriptors } = await stack.client.listMetricDescriptors({});
    const keys = new Map((descriptors ?? []).map((d) => [d.name ?? '', d.labelKeys ?? []]));
    expect(keys.get('container_cpu_usage_seconds_total')).to.deep.equal(['id', 'name', 'image', 'cpu']);
    expect(keys.get('container_network_receive_bytes_total')).to.deep.equal(['id', 'name', 'image', 'interface']);
    const pm = await podMetrics((p) => (p.containerMetrics ?? []).length === 1);
    const all = [...(pm.metrics ?? []), ...(pm.containerMetrics ?? []).flatMap((c) => c.metrics ?? [])];
    expect(all.length).to.be.greaterThan(20);
    for (const m of all) {
      expect(keys.has(m.name ?? ''), `descriptor for ${m.name}`).to.equal(true);
      expect(m.labelValues?.length, m.name ?? '').to.equal(keys.get(m.name ?? '')!.length);
    }
  });

  it('reports the container`s CPU seconds, memory, processes and limits, labelled id/name/image', async () => {
    const pm = await podMetrics((p) => valueOf(p.containerMetrics?.[0]?.metrics, 'container_cpu_usage_seconds_total') >= 1);
    const c = pm.containerMetrics![0];
    expect(c.containerId).to.equal(containerId);
    const cpu = c.metrics!.find((m) => m.name === 'container_cpu_usage_seconds_total')!;
    expect(cpu.labelValues).to.deep.equal([containerId, 'burner', stack.image, 'total']);
    expect(cpu.metricType).to.equal(0); // COUNTER
    expect(Number(cpu.timestamp)).to.equal(0); // gathered live
    // ContainerStats reads the same cgroup: its nanoseconds cover at least the whole seconds reported
    const stats = await stack.client.containerStats({ containerId });
    expect(Number(stats.stats?.cpu?.usageCoreNanoSeconds?.value)).to.be.at.least(Number(cpu.value!.value) * 1e9);
    const ws = c.metrics!.find((m) => m.name === 'container_memory_working_set_bytes')!;
    expect(ws.metricType).to.equal(1); // GAUGE
    expect(Number(ws.value!.value)).to.be.greaterThan(0);
    expect(valueOf(c.metrics, 'container_memory_usage_bytes')).to.be.at.least(Number(ws.value!.value));
    expect(valueOf(c.metrics, 'container_processes')).to.be.at.least(2); // httpd + the busy subshell
    expect(valueOf(c.metrics, 'container_spec_memory_limit_bytes')).to.equal(MEMORY_LIMIT);
    expect(valueOf(c.metrics, 'container_spec_cpu_shares')).to.equal(512);
    expect(valueOf(c.metrics, 'container_fs_inodes_usage')).to.be.at.least(0);
    expect(valueOf(c.metrics, 'container_fs_limit_bytes')).to.be.greaterThan(0);
  });

  it('reports the pod`s eth0 traffic (pod id, POD, empty image, interface), growing with a request from the host', async () => {
    expect(podIp).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    const before = await podMetrics((p) => valueOf(p.metrics, 'container_network_receive_bytes_total', 'eth0') >= 0);
    const rx0 = valueOf(before.metrics, 'container_network_receive_bytes_total', 'eth0');
    const tx0 = valueOf(before.metrics, 'container_network_transmit_bytes_total', 'eth0');
    let page = '';
    for (let i = 0; i < 50 && !page.includes('200 OK'); i++) {
      page = await httpGet(podIp, 8080).catch(() => '');
      if (!page.includes('200 OK')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(page).to.contain('200 OK');
    const after = await podMetrics((p) => valueOf(p.metrics, 'container_network_transmit_bytes_total', 'eth0') >= tx0 + 20_000);
    const rx = after.metrics!.find((m) => m.name === 'container_network_receive_bytes_total' && m.labelValues?.at(-1) === 'eth0')!;
    expect(rx.labelValues).to.deep.equal([podId, 'POD', '', 'eth0']);
    expect(rx.metricType).to.equal(0); // COUNTER
    expect(Number(rx.value!.value)).to.be.greaterThan(rx0);
    expect(after.metrics!.some((m) => m.labelValues?.at(-1) === 'lo')).to.equal(false);
  });

  it('StreamPodSandboxMetrics streams the same pod and container', async () => {
    const stream = stack.client.streamPodSandboxMetrics({});
    const got: runtime.v1.IPodSandboxMetrics[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m: runtime.v1.IStreamPodSandboxMetricsResponse) => got.push(...(m.podSandboxMetrics ?? [])));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    const mine = got.find((p) => p.podSandboxId === podId);
    expect(mine?.containerMetrics?.map((c) => c.containerId)).to.deep.equal([containerId]);
    expect(valueOf(mine?.containerMetrics?.[0].metrics, 'container_spec_memory_limit_bytes')).to.equal(MEMORY_LIMIT);
  });

  it('drops the container from the metrics once it has exited', async () => {
    await stack.client.stopContainer({ containerId, timeout: 0 });
    const pm = await podMetrics(() => true);
    expect(pm.containerMetrics ?? []).to.deep.equal([]);
  });
});
