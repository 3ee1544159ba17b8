/**
 * Fixtures shared by the streaming tests and the bench: a server wired to the local reference
 * backends, and loopback TCP servers (echo, HTTP page, bulk source) to forward to.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { silentLogger } from '../../common/logger';
import { LocalProcessAttachBackend, LocalProcessExecBackend, LoopbackPortForwardBackend } from './local-backends';
import { StreamingServer, type StreamingServerOptions } from '../streaming/server';

export interface LocalStreamingFixture {
  server: StreamingServer;
  exec: LocalProcessExecBackend;
  attach: LocalProcessAttachBackend;
}

/** A streaming server on an ephemeral loopback port with the reference backends. */
export async function startLocalStreamingServer(overrides: Partial<StreamingServerOptions> = {}): Promise<LocalStreamingFixture> {
  const exec = new LocalProcessExecBackend();
  const attach = new LocalProcessAttachBackend();
  const server = await StreamingServer.start({
    backends: { exec, attach, portForward: new LoopbackPortForwardBackend() },
    logger: silentLogger,
    ...overrides,
  });
  return { server, exec, attach };
}

/** A TCP server on an ephemeral loopback port; `close` also drops open connections. */
export interface TcpFixture {
  port: number;
  close(): Promise<void>;
}

async function listen(server: net.Server | http.Server): Promise<TcpFixture> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Echoes every byte back. */
export function startEchoServer(): Promise<TcpFixture> {
  return listen(net.createServer((s) => s.pipe(s).on('error', () => undefined)));
}

/** Serves `body` on every HTTP request. */
export function startHttpServer(body: string): Promise<TcpFixture> {
  return listen(http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'close' }).end(body)));
}

/** Sends `totalBytes` of a repeating pattern to each connection, then closes its side. */
export function startBulkSource(totalBytes: number): Promise<TcpFixture> {
  const block = Buffer.alloc(256 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  return listen(
    net.createServer((s) => {
      s.on('error', () => undefined);
      let sent = 0;
      const pump = () => {
        while (sent < totalBytes) {
          const n = Math.min(block.length, totalBytes - sent);
          sent += n;
          if (!s.write(n === block.length ? block : block.subarray(0, n))) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    }),
  );
}

/** Counts the bytes each connection sends and, when it half-closes, answers with the count. */
export function startByteCounter(): Promise<TcpFixture> {
  return listen(
    net.createServer((s) => {
      s.on('error', () => undefined);
      let n = 0;
      s.on('data', (c: Buffer) => (n += c.length));
      s.on('end', () => s.end(String(n)));
    }),
  );
}

/** A loopback port that nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const f = await listen(net.createServer());
  await f.close();
  return f.port;
}
