/**
 * The tiny HTTP server on `--metrics-listen`: `/metrics` (Prometheus text format), `/healthz`
 * (the process serves HTTP) and `/readyz` (health.ts checks; 503 naming each failing one).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RuntimeError } from '../common/errors';
import type { Logger } from '../common/logger';
import { excludedChecks, formatReadiness, READINESS_CHECKS, type HealthSource } from './health';

/** Where the metrics text comes from. */
export interface MetricsSource {
  scrape(): Promise<string>;
  readonly registry: { contentType: string };
}

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** The bound address, e.g. "127.0.0.1:41234" (the real port when 0 was asked for). */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves `source` (and, when given, `health`) on host:port. */
export async function startMetricsServer(host: string, port: number, source: MetricsSource, logger: Logger, health?: HealthSource): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const [url, query = ''] = (req.url ?? '/').split('?', 2);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (health && (url === '/healthz' || url === '/livez')) {
      res.writeHead(200, TEXT).end(req.method === 'HEAD' ? undefined : 'ok\n');
      return;
    }
    if (health && url === '/readyz') {
      serveReadyz(health, query, req.method === 'HEAD', res);
      return;
    }
    if (url !== '/metrics') {
      res.writeHead(404, TEXT).end(`not found; metrics are at /metrics${health ? ', health at /healthz and /readyz' : ''}\n`);
      return;
    }
    source.scrape().then(
      (text) => res.writeHead(200, { 'content-type': source.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err) => {
        logger.error('metrics scrape failed', { err });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
      },
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new RuntimeError(`listen for metrics on ${host}:${port}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const address = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } as const;

/** `/readyz[?verbose][&exclude=name]`: 200 "ok" when every check passes, else 503 with each check's line. */
function serveReadyz(health: HealthSource, query: string, head: boolean, res: http.ServerResponse): void {
  const exclude = excludedChecks(query);
  const unknown = [...exclude].filter((name) => !(READINESS_CHECKS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    res.writeHead(400, TEXT).end(`unknown check(s) in exclude: ${unknown.join(', ')}; checks are ${READINESS_CHECKS.join(', ')}\n`);
    return;
  }
  const results = health.readiness(exclude);
  const ok = results.every((r) => r.ok);
  const verbose = new URLSearchParams(query).has('verbose');
  const body = ok && !verbose ? 'ok\n' : formatReadiness(results);
  res.writeHead(ok ? 200 : 503, TEXT).end(head ? undefined : body);
}
