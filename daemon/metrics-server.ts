/** The tiny HTTP server exposing `/metrics` (Prometheus text format) on `--metrics-listen`. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RuntimeError } from '../common/errors';
import type { Logger } from '../common/logger';

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

/** Serves `source` on host:port. */
export async function startMetricsServer(host: string, port: number, source: MetricsSource, logger: Logger): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
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
