import { Client, credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import { silentLogger } from '../common/logger';
import { type CriClient } from '../test/support/cri-client';
import type { CriHandlers } from './handlers';
import { createCriServer } from './server';
import { RawH2Client } from './testing/h2-raw';
import { criServerEach } from './testing/server-fixtures';
import { Flag, FrameType } from './transport/frames';

describe('cri/server lifecycle and malformed input', function () {
  this.timeout(20000);
  const srv = criServerEach('berth-cri-life-', 'berth.sock', 100);
  const observed: string[] = [];

  const start = (handlers: CriHandlers): Promise<CriClient> =>
    srv.serve(createCriServer({ handlers, logger: silentLogger, observer: { observe: (_s, m, code) => observed.push(`${m}:${code}`) } }));

  beforeEach(() => {
    observed.length = 0;
  });

  it('answers INVALID_ARGUMENT to a request that is not a valid protobuf message', async () => {
    await start({ Version: async () => ({ runtimeName: 'berth' }) });
    const raw = new Client(`unix://${srv.socketPath}`, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError | undefined>((resolve) =>
        raw.makeUnaryRequest(
          '/runtime.v1.RuntimeService/Version',
          () => Buffer.from([0x0a, 0x05, 0x61]), // field 1, length 5, but only 1 byte follows
          (b: Buffer) => b,
          {},
          (e) => resolve(e ?? undefined),
        ),
      );
      expect(err?.code).to.equal(GrpcStatus.INVALID_ARGUMENT);
      expect(err?.details).to.match(/^decode Version request/);
      expect(observed).to.deep.equal(['Version:INVALID_ARGUMENT']);
    } finally {
      raw.close();
    }
  });

  it('answers RESOURCE_EXHAUSTED to a request or a response over maxMessageBytes, and serves on', async () => {
    const c = await srv.serve(
      createCriServer({
        handlers: { Version: async () => ({ runtimeName: 'b'.repeat(5000) }), Status: async () => ({}) },
        logger: silentLogger,
        maxMessageBytes: 2048,
        observer: { observe: (_s, m, code) => observed.push(`${m}:${code}`) },
      }),
    );
    const codeOf = (p: Promise<unknown>) => p.then(() => 'OK', (e: ServiceError) => GrpcStatus[e.code]);
    expect(await codeOf(c.version({}))).to.equal('RESOURCE_EXHAUSTED');
    expect(observed).to.deep.equal(['Version:RESOURCE_EXHAUSTED']);
    expect(await codeOf(c.status({ verbose: false }))).to.equal('OK');
    const big = await new Promise<ServiceError | undefined>((resolve) => {
      const raw = new Client(`unix://${srv.socketPath}`, credentials.createInsecure());
      raw.makeUnaryRequest('/runtime.v1.RuntimeService/Status', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(4096, 0x0a), (e) => {
        raw.close();
        resolve(e ?? undefined);
      });
    });
    expect(big?.code).to.equal(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(big?.details).to.match(/larger than max \(4096 vs\. 2048\)/);
  });

  it('lets an in-flight call finish within the grace period, then stops', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let entered = false;
    const c = await start({
      PullImage: async () => {
        entered = true;
        await released;
        return { imageRef: 'sha256:abc' };
      },
    });
    const pull = c.pullImage({ image: { image: 'busybox' } });
    await waitFor(() => entered);
    const stopped = srv.server!.shutdown(5000);
    setTimeout(release, 100);
    expect((await pull).imageRef).to.equal('sha256:abc');
    await stopped;
    srv.server = undefined;
    let gone = false;
    await fs.lstat(srv.socketPath).catch(() => (gone = true));
    expect(gone).to.equal(true);
    expect(observed).to.deep.equal(['PullImage:OK']);
  });

  it('cancels a long-running stream when the grace period ends', async () => {
    let aborted = false;
    const c = await start({
      GetContainerEvents: async (_req, call) => {
        await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve()));
        aborted = true;
      },
    });
    const stream = c.getContainerEvents({});
    const ended = new Promise<void>((resolve) => {
      stream.on('error', () => resolve());
      stream.on('end', () => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await srv.server!.shutdown(300);
    srv.server = undefined;
    await ended;
    expect(Date.now() - t0).to.be.lessThan(3000);
    await waitFor(() => aborted);
  });

  it('closes an HTTP/2 connection on shutdown without waiting for the client to close its side', async () => {
    await start({});
    const h2 = new RawH2Client(srv.socketPath, true).start();
    await h2.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK);
    const t0 = Date.now();
    await srv.server!.shutdown(100);
    srv.server = undefined;
    expect(Date.now() - t0).to.be.lessThan(700);
    expect(h2.frames.some((f) => f.type === FrameType.GOAWAY)).to.equal(true);
    h2.close();
  });

  it('closes idle raw connections on shutdown', async () => {
    await start({});
    const idle = net.connect(srv.socketPath);
    const closed = new Promise<void>((resolve) => idle.on('close', () => resolve()));
    idle.on('error', () => undefined);
    idle.resume(); // read the server's SETTINGS, or 'end' never fires
    await new Promise<void>((r) => idle.on('connect', () => r()));
    await srv.server!.shutdown(100);
    srv.server = undefined;
    await closed;
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
