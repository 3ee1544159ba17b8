import { expect } from 'chai';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { silentLogger } from '../common/logger';
import { httpReadyProbe, readyzUrl, socketReadyProbe, waitUntilReady } from './commands/wait-ready-command';
import { DaemonHealth, excludedChecks, formatReadiness } from './health';
import { DaemonMetrics } from './metrics';
import { startMetricsServer, type MetricsServer } from './metrics-server';

async function get(address: string, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}${urlPath}`);
  return { status: res.status, body: await res.text() };
}

describe('daemon/health: /healthz and /readyz', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('reports each failing check until serving, recovered and network ready', () => {
    const h = new DaemonHealth();
    expect(h.readiness().map((r) => [r.name, r.ok])).to.deep.equal([
      ['cri', false],
      ['recovery', false],
      ['network', false],
    ]);
    let network = { ready: false, reason: 'NetworkPluginNotReady', message: 'no CNI configuration file in /etc/cni/net.d' };
    h.setNetwork(() => network);
    h.setRecovered();
    h.setServing(true);
    const text = formatReadiness(h.readiness());
    expect(text).to.equal('[+]cri ok\n[+]recovery ok\n[-]network failed: NetworkPluginNotReady: no CNI configuration file in /etc/cni/net.d\nreadyz check failed\n');
    network = { ready: true, reason: '', message: '' };
    expect(h.readiness().every((r) => r.ok)).to.equal(true);
    expect(h.readiness(new Set(['network'])).map((r) => r.name)).to.deep.equal(['cri', 'recovery']);
    h.setServing(false);
    expect(h.readiness()[0]).to.deep.equal({ name: 'cri', ok: false, reason: 'the CRI socket is not serving' });
  });

  it('keeps a multi-line reason on one line and parses exclude lists', () => {
    const text = formatReadiness([{ name: 'network', ok: false, reason: 'plugin failed:\n  line two' }]);
    expect(text.split('\n')[0]).to.equal('[-]network failed: plugin failed:; line two');
    expect([...excludedChecks('exclude=network&exclude=cri,recovery&verbose')]).to.deep.equal(['network', 'cri', 'recovery']);
  });

  it('serves healthz 200 always, readyz 503 with reasons until ready, then 200 "ok"', async () => {
    const h = new DaemonHealth();
    server = await startMetricsServer('127.0.0.1', 0, new DaemonMetrics({ defaultMetrics: false }), silentLogger, h);
    expect(await get(server.address, '/healthz')).to.deep.equal({ status: 200, body: 'ok\n' });
    const notReady = await get(server.address, '/readyz');
    expect(notReady.status).to.equal(503);
    expect(notReady.body).to.contain('[-]cri failed: the CRI socket is not serving\n');
    expect(notReady.body).to.contain('[-]recovery failed: recovering pods, containers and images from disk\n');
    expect(notReady.body).to.contain('[-]network failed: the CNI network layer is not initialised\n');

    h.setRecovered();
    h.setServing(true);
    h.setNetwork(() => ({ ready: false, reason: 'NetworkPluginNotReady', message: 'no network' }));
    const onlyNetwork = await get(server.address, '/readyz');
    expect(onlyNetwork).to.deep.equal({ status: 503, body: '[+]cri ok\n[+]recovery ok\n[-]network failed: NetworkPluginNotReady: no network\nreadyz check failed\n' });
    expect(await get(server.address, '/readyz?exclude=network')).to.deep.equal({ status: 200, body: 'ok\n' });
    expect((await get(server.address, '/readyz?exclude=netwrok')).status).to.equal(400);

    h.setNetwork(() => ({ ready: true }));
    expect(await get(server.address, '/readyz')).to.deep.equal({ status: 200, body: 'ok\n' });
    expect(await get(server.address, '/readyz?verbose')).to.deep.equal({ status: 200, body: '[+]cri ok\n[+]recovery ok\n[+]network ok\nreadyz check passed\n' });
    expect((await get(server.address, '/metrics')).status).to.equal(200);
  });

  it('serves no health endpoints when no health source is given', async () => {
    server = await startMetricsServer('127.0.0.1', 0, new DaemonMetrics({ defaultMetrics: false }), silentLogger);
    expect((await get(server.address, '/readyz')).status).to.equal(404);
  });
});

describe('daemon/commands wait-ready probes', () => {
  it('builds loopback readyz URLs for wildcard listen addresses', () => {
    expect(readyzUrl('0.0.0.0', 9090)).to.equal('http://127.0.0.1:9090/readyz?verbose');
    expect(readyzUrl('::', 9090, ['network'])).to.equal('http://[::1]:9090/readyz?verbose&exclude=network');
    expect(readyzUrl('10.0.0.1', 1)).to.equal('http://10.0.0.1:1/readyz?verbose');
  });

  it('waits for /readyz to turn 200 and times out with the last report while it is 503', async () => {
    const h = new DaemonHealth();
    const server = await startMetricsServer('127.0.0.1', 0, new DaemonMetrics({ defaultMetrics: false }), silentLogger, h);
    try {
      const [host, port] = server.address.split(':');
      const probe = httpReadyProbe(readyzUrl(host, Number(port)));
      const failed = await waitUntilReady(probe, 200, 20);
      expect(failed.ready).to.equal(false);
      expect(failed.detail).to.contain('HTTP 503').and.contain('[-]recovery failed');
      setTimeout(() => {
        h.setRecovered();
        h.setServing(true);
        h.setNetwork(() => ({ ready: true }));
      }, 150);
      const started = Date.now();
      const ok = await waitUntilReady(probe, 5000, 20);
      expect(ok.ready).to.equal(true);
      expect(Date.now() - started).to.be.within(100, 3000);
    } finally {
      await server.close();
    }
    const refused = await httpReadyProbe(readyzUrl('127.0.0.1', Number(server.address.split(':')[1])))();
    expect(refused.ready).to.equal(false);
    expect(refused.detail).to.match(/^GET http:\/\/127\.0\.0\.1:\d+\/readyz\?verbose: /);
  });

  it('probes the CRI socket when metrics are off', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-wait-ready-'));
    const sock = path.join(dir, 's.sock');
    try {
      expect((await socketReadyProbe(sock)()).ready).to.equal(false);
      const srv = net.createServer((c) => c.destroy());
      await new Promise<void>((resolve) => srv.listen(sock, resolve));
      expect(await socketReadyProbe(sock)()).to.deep.equal({ ready: true, detail: `connected to ${sock}` });
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
