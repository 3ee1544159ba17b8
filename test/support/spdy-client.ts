/**
 * Our own SPDY/3.1 client for the streaming server, doing what kubectl/crictl do: HTTP/1.1
 * Upgrade with X-Stream-Protocol-Version, then remotecommand streams (error, stdin, stdout,
 * stderr, resize) or port-forward stream pairs (error + data per requestID). Used by tests and
 * the bench.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { SpdySession } from '../../cri/streaming/spdy/session';
import type { SpdyStream } from '../../cri/streaming/spdy/stream';

/** A non-101 answer to the upgrade. */
export class UpgradeRefusedError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(`upgrade refused with HTTP ${statusCode}: ${body.trim()}`);
    this.name = 'UpgradeRefusedError';
  }
}

export interface SpdyConnection {
  session: SpdySession;
  /** The subprotocol the server chose ('' when none was offered). */
  protocol: string;
}

/** Upgrades `url` to SPDY/3.1 offering `protocols` (client preference order); `ca` trusts a TLS server. */
export function connectSpdy(url: string, protocols: string[], opts: { ca?: Buffer | string } = {}): Promise<SpdyConnection> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? https.request : http.request;
    const req = request(url, {
      method: 'POST',
      ...(opts.ca ? { ca: opts.ca } : {}),
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', ...(protocols.length > 0 ? { 'X-Stream-Protocol-Version': protocols } : {}) },
    });
    req.on('upgrade', (res, socket: Socket, head) => {
      socket.setNoDelay(true);
      const session = new SpdySession(socket, { isServer: false, announceFlowControl: true });
      if (head.length > 0) socket.unshift(head);
      const chosen = res.headers['x-stream-protocol-version'];
      resolve({ session, protocol: Array.isArray(chosen) ? chosen[0] : (chosen ?? '') });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(new UpgradeRefusedError(res.statusCode ?? 0, Buffer.concat(chunks).toString())));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads a stream to its end. */
export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('close', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export interface RemoteCommandOptions {
  protocols?: string[];
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
}

export interface SpdyRemoteCommand {
  protocol: string;
  session: SpdySession;
  stdin?: SpdyStream;
  resize?: SpdyStream;
  /** The stdout stream itself, to watch output as it arrives. */
  stdoutStream?: SpdyStream;
  /** Everything received on stdout / stderr, once each ended. */
  stdout: Promise<Buffer>;
  stderr: Promise<Buffer>;
  /** The raw error-stream content (JSON Status under v4) once it ended. */
  error: Promise<string>;
  /** Sends a terminal size as kubectl does. */
  sendResize(width: number, height: number): void;
}

/** Starts an exec/attach session the way kubectl's remotecommand client does. */
export async function spdyRemoteCommand(url: string, opts: RemoteCommandOptions = {}): Promise<SpdyRemoteCommand> {
  const { session, protocol } = await connectSpdy(url, opts.protocols ?? ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']);
  const errorStream = await session.openStream({ streamType: 'error' });
  errorStream.end();
  const resize = opts.tty && protocol !== 'v2.channel.k8s.io' && protocol !== 'channel.k8s.io' ? await session.openStream({ streamType: 'resize' }) : undefined;
  const stdin = opts.stdin ? await session.openStream({ streamType: 'stdin' }) : undefined;
  const stdoutStream = opts.stdout !== false ? await session.openStream({ streamType: 'stdout' }) : undefined;
  const stderrStream = opts.stderr && !opts.tty ? await session.openStream({ streamType: 'stderr' }) : undefined;
  stdoutStream?.end();
  stderrStream?.end();
  return {
    protocol,
    session,
    stdin,
    resize,
    stdoutStream,
    stdout: stdoutStream ? readAll(stdoutStream) : Promise.resolve(Buffer.alloc(0)),
    stderr: stderrStream ? readAll(stderrStream) : Promise.resolve(Buffer.alloc(0)),
    error: readAll(errorStream).then((b) => b.toString()),
    sendResize(width: number, height: number) {
      resize?.write(JSON.stringify({ Width: width, Height: height }) + '\n');
    },
  };
}

/** One forwarded connection: the data stream and the error text (empty when none). */
export interface ForwardedConnection {
  data: SpdyStream;
  error: Promise<string>;
}

/** A port-forward session: open as many connections as wanted, like `kubectl port-forward`. */
export class SpdyPortForwardClient {
  private nextRequestId = 0;

  private constructor(readonly session: SpdySession) {}

  /** Upgrades `url` with the portforward.k8s.io protocol. */
  static async connect(url: string): Promise<SpdyPortForwardClient> {
    const { session } = await connectSpdy(url, ['portforward.k8s.io']);
    return new SpdyPortForwardClient(session);
  }

  /** Opens the error + data pair for one connection to `port`. */
  async open(port: number): Promise<ForwardedConnection> {
    const requestID = String(this.nextRequestId++);
    const errorStream = await this.session.openStream({ streamType: 'error', port: String(port), requestID });
    errorStream.end();
    const data = await this.session.openStream({ streamType: 'data', port: String(port), requestID });
    return { data, error: readAll(errorStream).then((b) => b.toString()) };
  }

  /** One HTTP/1.0 GET of `path` on a new connection to `port`; the raw response. */
  async httpGet(port: number, path: string): Promise<string> {
    const conn = await this.open(port);
    conn.data.write(`GET ${path} HTTP/1.0\r\n\r\n`);
    return (await readAll(conn.data)).toString();
  }

  /** httpGet until the answer is 200 OK (the server in the pod may still be starting), at most `tries` times 50 ms apart; the last answer. */
  async httpGetWhenUp(port: number, path: string, tries = 50): Promise<string> {
    let page = '';
    for (let i = 0; i < tries && !page.includes('200 OK'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      page = await this.httpGet(port, path);
    }
    return page;
  }

  close(): void {
    this.session.close();
  }
}
