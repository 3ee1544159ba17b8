/**
 * kubelet/crictl <= 1.29 send the socket path as HTTP/2 `:authority`. These tests speak raw
 * HTTP/2 with such an authority, check that the bytes on the wire really carry it, and that
 * berth answers while a plain grpc-js (Node HTTP/2) server refuses the stream.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import { silentLogger } from '../common/logger';
import { createCriClient } from '../test/support/cri-client';
import { runtime } from './api/generated/cri';
import type { CriHandlers } from './handlers';
import { huffmanEncode } from './hpack';
import { createCriServer, type CriServer } from './server';

/** A Duplex over a unix socket that records every byte the client writes. */
class RecordingConnection extends Duplex {
  readonly written: Buffer[] = [];
  private readonly socket: net.Socket;
  constructor(socketPath: string) {
    super();
    this.socket = net.connect(socketPath);
    this.socket.on('data', (d: Buffer) => {
      if (!this.push(d)) this.socket.pause();
    });
    this.socket.on('end', () => this.push(null));
    this.socket.on('error', (e) => this.destroy(e));
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    this.socket.write(chunk, cb);
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.socket.end(cb);
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}

interface RawReply {
  status?: number;
  grpcStatus?: string;
  message?: runtime.v1.VersionResponse;
  error?: string;
}

/** Sends `count` Version requests with `authority` on one raw HTTP/2 session. */
async function rawVersionCalls(socketPath: string, authority: string, count: number): Promise<{ replies: RawReply[]; wire: Buffer }> {
  let conn: RecordingConnection | undefined;
  const session = http2.connect('http://localhost', {
    createConnection: () => {
      conn = new RecordingConnection(socketPath);
      return conn;
    },
  });
  session.on('error', () => undefined);
  const replies: RawReply[] = [];
  try {
    for (let i = 0; i < count; i++) replies.push(await rawVersionCall(session, authority));
  } finally {
    session.destroy();
  }
  return { replies, wire: Buffer.concat(conn?.written ?? []) };
}

function rawVersionCall(session: http2.ClientHttp2Session, authority: string): Promise<RawReply> {
  return new Promise((resolve) => {
    const body = runtime.v1.VersionRequest.encode({ version: 'v1' }).finish();
    const framed = Buffer.alloc(5 + body.length);
    framed.writeUInt32BE(body.length, 1);
    Buffer.from(body).copy(framed, 5);
    const req = session.request({
      ':method': 'POST',
      ':scheme': 'http',
      ':path': '/runtime.v1.RuntimeService/Version',
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const reply: RawReply = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (reply.status = Number(h[':status'])));
    req.on('trailers', (t) => (reply.grpcStatus = String(t['grpc-status'])));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', (e) => resolve({ ...reply, error: e.message }));
    req.on('end', () => {
      const all = Buffer.concat(chunks);
      if (all.length >= 5) reply.message = runtime.v1.VersionResponse.decode(all.subarray(5, 5 + all.readUInt32BE(1)));
      resolve(reply);
    });
    req.end(framed);
  });
}

describe('cri/server: clients that send the socket path as :authority', function () {
  this.timeout(20000);
  const handlers: CriHandlers = {
    Version: async () => ({ version: '0.1.0', runtimeName: 'berth', runtimeVersion: 't', runtimeApiVersion: 'v1' }),
  };
  let dir: string;
  let socketPath: string;
  let server: CriServer | undefined;
  let plain: Server | undefined;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cri-auth-'));
    socketPath = path.join(dir, 'berth.sock');
    server = createCriServer({ handlers, logger: silentLogger });
    await server.listen(socketPath);
  });

  afterEach(async () => {
    await server?.shutdown(200);
    server = undefined;
    plain?.forceShutdown();
    plain = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers Version when :authority is the socket path, on the first and later requests of a session', async () => {
    const { replies, wire } = await rawVersionCalls(socketPath, socketPath, 3);
    // The path really went out: raw or Huffman-coded inside the HEADERS block.
    const pathBytes = Buffer.from(socketPath);
    expect(wire.includes(pathBytes) || wire.includes(huffmanEncode(pathBytes)), 'socket path on the wire').to.equal(true);
    for (const r of replies) {
      expect(r.error).to.equal(undefined);
      expect(r).to.include({ status: 200, grpcStatus: '0' });
      expect(r.message).to.include({ runtimeName: 'berth', runtimeApiVersion: 'v1' });
    }
  });

  it('answers Version when :authority is localhost', async () => {
    const { replies } = await rawVersionCalls(socketPath, 'localhost', 2);
    for (const r of replies) expect(r.message?.runtimeName).to.equal('berth');
  });

  it('is needed: a plain grpc-js server refuses the same request', async () => {
    plain = new Server();
    const identity = (b: Buffer): Buffer => b;
    const version = { path: '/runtime.v1.RuntimeService/Version', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
    const reply = Buffer.from(runtime.v1.VersionResponse.encode({ runtimeName: 'berth' }).finish());
    plain.addService({ Version: version }, { Version: (_call: unknown, cb: (err: null, res: Buffer) => void) => cb(null, reply) });
    const plainSocket = path.join(dir, 'plain.sock');
    await new Promise<void>((resolve, reject) =>
      plain!.bindAsync(`unix://${plainSocket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    const { replies } = await rawVersionCalls(plainSocket, plainSocket, 1);
    expect(replies[0].message).to.equal(undefined);
    expect(replies[0].error).to.match(/PROTOCOL_ERROR/);
  });

  it('works with a grpc-js client whose default authority is the socket path', async () => {
    const client = createCriClient(socketPath, { authority: socketPath });
    try {
      const res = await client.version({});
      expect(res.runtimeName).to.equal('berth');
    } finally {
      client.close();
    }
  });
});
