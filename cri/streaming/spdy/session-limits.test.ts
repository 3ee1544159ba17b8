import { expect } from 'chai';
import * as net from 'node:net';
import { encodeDataFrame, encodePing, encodeSettings, encodeSynStream, FrameParser, MAX_CONTROL_FRAME_PAYLOAD, SETTINGS_INITIAL_WINDOW_SIZE, type SpdyFrame } from './frames';
import { bombBlock } from '../../testing/spdy-header-bomb';
import { HeaderCompressor } from './header-codec';
import { MAX_OPEN_STREAMS, SpdySession } from './session';
import type { SpdyStream } from './stream';
import { closeAfterEach } from '../../../common/testing/close-after-each-fixtures';
import { loopbackSockets } from '../../testing/loopback-fixtures';

interface RawPair {
  /** The peer's raw socket: we write hand-made frames on it. */
  raw: net.Socket;
  server: SpdySession;
  serverSocket: net.Socket;
  /** Frames the server wrote (only while `raw` is read). */
  frames: SpdyFrame[];
  closed: Promise<void>;
  close(): Promise<void>;
}

/** A server session and a raw client socket over loopback TCP. */
async function rawPair(opts: { readClient: boolean; maxOpenStreams?: number }): Promise<RawPair> {
  const sockets = await loopbackSockets({ ignoreClientErrors: true });
  const { client: raw, server: serverSocket } = sockets;
  const server = new SpdySession(serverSocket, { isServer: true, maxOpenStreams: opts.maxOpenStreams });
  const closed = new Promise<void>((r) => server.once('close', r));
  const frames: SpdyFrame[] = [];
  if (opts.readClient) {
    const tap = new FrameParser();
    raw.on('data', (c: Buffer) => frames.push(...tap.push(c)));
  } else {
    raw.pause();
  }
  return { raw, server, serverSocket, frames, closed, close: () => sockets.closeWith(raw, server) };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('spdy/session limits (hostile peer)', () => {
  const closing = closeAfterEach();

  it('answers a SYN_STREAM whose header block inflates to 128 MiB with GOAWAY(PROTOCOL_ERROR) and closes', async () => {
    const pair = closing.add(await rawPair({ readClient: true }));
    const block = await bombBlock(128 * 1024 * 1024);
    let streams = 0;
    pair.server.on('stream', () => streams++);
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    pair.raw.write(encodeSynStream(1, block));
    await pair.closed;
    const ms = Date.now() - started;
    await until(() => pair.frames.some((f) => f.type === 'goaway'));
    expect(pair.frames.find((f) => f.type === 'goaway')).to.deep.include({ status: 1 });
    expect(streams).to.equal(0);
    expect(ms).to.be.lessThan(1000);
    // Far below the 128 MiB a full inflate would have taken (the exact high-water is measured in header-codec.test).
    expect((process.memoryUsage().rss - rssBefore) / 2 ** 20).to.be.lessThan(64);
  });

  it('refuses a control frame larger than the header limit before buffering it', async () => {
    const pair = closing.add(await rawPair({ readClient: true }));
    const head = Buffer.from('8003000100000000', 'hex');
    head.writeUIntBE(MAX_CONTROL_FRAME_PAYLOAD + 1, 5, 3);
    pair.raw.write(head);
    await pair.closed;
    await until(() => pair.frames.some((f) => f.type === 'goaway'));
    expect(pair.frames.find((f) => f.type === 'goaway')).to.deep.include({ status: 1 });
  });

  it('stops reading a peer that floods PINGs without reading the answers: unsent bytes stay bounded', async () => {
    const pair = closing.add(await rawPair({ readClient: false }));
    const pings = Buffer.concat(Array.from({ length: 4096 }, (_, i) => encodePing(2 * i + 1))); // 48 KiB
    let sent = 0;
    // Write 64 MiB of PINGs (5.6 million, each answered with 12 bytes) as fast as the socket takes them.
    const target = 64 * 1024 * 1024;
    const writer = (async () => {
      while (sent < target && !pair.raw.destroyed) {
        sent += pings.length;
        if (!pair.raw.write(pings)) await Promise.race([new Promise((r) => pair.raw.once('drain', r)), new Promise((r) => setTimeout(r, 500))]);
      }
    })();
    let maxUnsent = 0;
    const sampler = setInterval(() => (maxUnsent = Math.max(maxUnsent, pair.serverSocket.writableLength)), 5);
    await Promise.race([writer, new Promise((r) => setTimeout(r, 1500))]);
    clearInterval(sampler);
    maxUnsent = Math.max(maxUnsent, pair.serverSocket.writableLength);
    // The server stopped reading once ~1 MiB of answers were unsent, so the flood stalled.
    expect(sent, 'the flood stalled').to.be.lessThan(target);
    expect(maxUnsent / 2 ** 20, `unsent ${maxUnsent} bytes`).to.be.lessThan(2);
  });

  it('refuses streams beyond the open-stream limit with RST_STREAM(REFUSED_STREAM), and takes new ones once some closed', async () => {
    expect(MAX_OPEN_STREAMS).to.equal(1024);
    const limit = 16;
    const pair = closing.add(await rawPair({ readClient: true, maxOpenStreams: limit }));
    const compressor = new HeaderCompressor();
    const opened: SpdyStream[] = [];
    pair.server.on('stream', (s) => opened.push(s));
    for (let i = 0; i < limit + 3; i++) pair.raw.write(encodeSynStream(2 * i + 1, await compressor.compress({ streamtype: ['data'] })));
    await until(() => pair.frames.filter((f) => f.type === 'rst_stream').length >= 3);
    expect(opened.length).to.equal(limit);
    const resets = pair.frames.filter((f) => f.type === 'rst_stream');
    expect(resets.map((f) => f.type === 'rst_stream' && [f.streamId, f.status])).to.deep.equal([
      [2 * limit + 1, 3],
      [2 * limit + 3, 3],
      [2 * limit + 5, 3],
    ]);
    opened[0].destroy(); // one closes: room for one more
    pair.raw.write(encodeSynStream(2 * (limit + 3) + 1, await compressor.compress({ streamtype: ['data'] })));
    await until(() => opened.length > limit);
    expect(opened.length).to.equal(limit + 1);
    compressor.close();
  });

  /** A flow-controlling peer (it sent SETTINGS) that opens `streams` streams nobody reads and sends `perStream` bytes on each. */
  async function overrun(streams: number, perStream: number): Promise<{ pair: RawPair; opened: SpdyStream[] }> {
    const pair = closing.add(await rawPair({ readClient: true }));
    const compressor = new HeaderCompressor();
    const opened: SpdyStream[] = [];
    pair.server.on('stream', (s) => opened.push(s)); // never read
    pair.raw.write(encodeSettings([{ id: SETTINGS_INITIAL_WINDOW_SIZE, value: 1 << 20 }]));
    for (let i = 0; i < streams; i++) pair.raw.write(encodeSynStream(2 * i + 1, await compressor.compress({ streamtype: ['stdin'] })));
    compressor.close();
    await until(() => opened.length === streams);
    const chunk = Buffer.alloc(64 * 1024, 7);
    for (let sent = 0; sent < perStream; sent += chunk.length) {
      for (let i = 0; i < streams; i++) pair.raw.write(encodeDataFrame(2 * i + 1, chunk, false));
    }
    return { pair, opened };
  }

  for (const [streams, perStream] of [
    [1, 6 * 1024 * 1024],
    [3, 2 * 1024 * 1024],
  ]) {
    it(`drops a flow-controlling peer that sends past the 4 MiB window (${streams} unread stream(s), ${perStream / 2 ** 20} MiB each): GOAWAY, at most the window buffered`, async () => {
      let maxBuffered = 0;
      const opened: SpdyStream[] = [];
      let pair: RawPair | undefined;
      const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, opened.reduce((n, s) => n + s.readableLength, 0))), 1);
      try {
        const run = await overrun(streams, perStream);
        pair = run.pair;
        opened.push(...run.opened);
        await pair.closed;
      } finally {
        clearInterval(sampler);
      }
      const frames = pair.frames;
      await until(() => frames.some((f) => f.type === 'goaway'));
      expect(frames.find((f) => f.type === 'goaway')).to.deep.include({ status: 1 });
      expect(maxBuffered, `${maxBuffered} bytes buffered`).to.be.at.most(4 * 1024 * 1024);
    });
  }
});
