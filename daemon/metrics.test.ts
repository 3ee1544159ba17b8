import { expect } from 'chai';
import * as http from 'node:http';
import { silentLogger } from '../common/logger';
import { DaemonMetrics } from './metrics';
import { startMetricsServer } from './metrics-server';

function get(url: string): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
      })
      .on('error', reject);
  });
}

describe('daemon/metrics', () => {
  it('counts operations by code, errors only for non-OK, and latency per operation', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    m.observe('RuntimeService', 'Version', 'OK', 0.002);
    m.observe('RuntimeService', 'Version', 'OK', 0.003);
    m.observe('RuntimeService', 'ListPodSandbox', 'UNIMPLEMENTED', 0.001);
    const text = await m.scrape();
    expect(text).to.contain('container_runtime_berth_operations_total{operation="Version",code="OK"} 2');
    expect(text).to.contain('container_runtime_berth_operations_total{operation="ListPodSandbox",code="UNIMPLEMENTED"} 1');
    expect(text).to.contain('container_runtime_berth_operations_errors_total{operation="ListPodSandbox",code="UNIMPLEMENTED"} 1');
    expect(text).not.to.match(/operations_errors_total\{operation="Version"/);
    expect(text).to.contain('container_runtime_berth_operations_latency_seconds_count{operation="Version"} 2');
    expect(text).to.contain('container_runtime_berth_operations_latency_seconds_bucket{le="0.0025",operation="Version"} 1');
  });

  it('adds RPCs up when the metrics are read, holding at most 1024 unread', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    const unread = (): number => m['pending'].length / 3;
    for (let i = 0; i < 2500; i++) m.observe('RuntimeService', 'Status', 'OK', 0.0004);
    expect(unread()).to.be.within(1, 1024);
    // Reading one metric adds them all up.
    await m.registry.getSingleMetricAsString('container_runtime_berth_operations_latency_seconds');
    expect(unread()).to.equal(0);
    expect(await m.scrape()).to.contain('container_runtime_berth_operations_total{operation="Status",code="OK"} 2500');
  });

  it('keeps two daemons apart and includes process metrics with the berth_ prefix', async () => {
    const a = new DaemonMetrics();
    const b = new DaemonMetrics();
    a.observe('ImageService', 'PullImage', 'OK', 1);
    expect(await b.scrape()).not.to.contain('operation="PullImage"');
    expect(await a.scrape()).to.contain('berth_process_resident_memory_bytes');
  });

  it('serves /metrics over HTTP and 404 elsewhere', async () => {
    const m = new DaemonMetrics({ defaultMetrics: false });
    m.observe('RuntimeService', 'Status', 'OK', 0.001);
    const server = await startMetricsServer('127.0.0.1', 0, m, silentLogger);
    try {
      expect(server.address).to.match(/^127\.0\.0\.1:\d+$/);
      const ok = await get(`http://${server.address}/metrics`);
      expect(ok.status).to.equal(200);
      expect(ok.type).to.contain('text/plain');
      expect(ok.body).to.contain('container_runtime_berth_operations_total{operation="Status",code="OK"} 1');
      expect((await get(`http://${server.address}/`)).status).to.equal(404);
    } finally {
      await server.close();
    }
  });
});
