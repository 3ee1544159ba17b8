import { expect } from 'chai';
import * as net from 'node:net';
import { FrameParser, type SpdyFrame } from './frames';
import { SpdySession } from './session';
import type { SpdyStream } from './stream';
import { closeAfterEach } from '../../../common/testing/close-after-each-fixtures';
import { loopbackSockets } from '../../testing/loopback-fixtures';

interface Pair {
  client: SpdySession;
  server: SpdySession;
  /** Every frame the server wrote, as the client's socket saw it. */
  serverFrames: SpdyFrame[];
  close(): Promise<void>;
}

/** A client and server session over a real loopback TCP connection. */
async function sessionPair(clientFlowControl: boolean): Promise<Pair> {
  const sockets = await loopbackSockets();
  const { client: clientSocket, server: serverSocket } = sockets;
  const tap = new FrameParser();
  const serverFrames: SpdyFrame[] = [];
  clientSocket.on('data', (c: Buffer) => serverFrames.push(...tap.push(c)));
  const server = new SpdySession(serverSocket, { isServer: true });
  const client = new SpdySession(clientSocket, { isServer: false, announceFlowControl: clientFlowControl });
  return { client, server, serverFrames, close: () => sockets.closeWith(client, server) };
}

function nextStream(s: SpdySession): Promise<SpdyStream> {
  return new Promise((r) => s.once('stream', r));
}

describe('spdy/session', () => {
  const closing = closeAfterEach();

  it('opens a stream, carries headers both ways and half-closes each side', async () => {
    const pair = closing.add(await sessionPair(true));
    const incoming = nextStream(pair.server);
    const opened = pair.client.openStream({ streamType: 'stdin', port: '80' });
    const serverSide = await incoming;
    const clientSide = await opened;
    expect(serverSide.id).to.equal(1);
    expect(serverSide.headers).to.deep.equal({ streamtype: ['stdin'], port: ['80'] });
    const got: Buffer[] = [];
    serverSide.on('data', (c: Buffer) => got.push(c));
    const ended = new Promise((r) => serverSide.once('end', r));
    clientSide.end('hello');
    await ended;
    expect(Buffer.concat(got).toString()).to.equal('hello');
    const back = new Promise<string>((r) => {
      let t = '';
      clientSide.on('data', (c: Buffer) => (t += c.toString())).on('end', () => r(t));
    });
    serverSide.end('world');
    expect(await back).to.equal('world');
  });

  it('answers PINGs', async () => {
    const pair = closing.add(await sessionPair(true));
    const rtt = await pair.client.ping();
    expect(rtt).to.be.a('number').and.to.be.lessThan(1000);
  });

  it('stops sending when a flow-controlling reader stops crediting, and resumes when it reads', async () => {
    const pair = closing.add(await sessionPair(true));
    const incoming = nextStream(pair.server);
    const clientSide = await pair.client.openStream({ streamType: 'data' });
    const serverSide = await incoming;
    clientSide.pause(); // the reader does not consume
    const total = 16 * 1024 * 1024;
    const payload = Buffer.alloc(total, 1);
    let writeDone = false;
    serverSide.end(payload, () => (writeDone = true));
    await new Promise((r) => setTimeout(r, 300));
    const sentWhilePaused = pair.serverFrames.filter((f) => f.type === 'data').reduce((n, f) => n + (f as { data: Buffer }).data.length, 0);
    expect(writeDone).to.equal(false);
    // At most the announced 4 MiB window (plus nothing beyond it) went out.
    expect(sentWhilePaused).to.be.at.most(4 * 1024 * 1024);
    expect(sentWhilePaused).to.be.greaterThan(0);
    let received = 0;
    clientSide.on('data', (c: Buffer) => (received += c.length));
    clientSide.resume();
    await new Promise((r) => clientSide.once('end', r));
    expect(received).to.equal(total);
  });

  it('sends no SETTINGS or WINDOW_UPDATE to a peer without flow control (Go spdystream) and does not stall on it', async () => {
    const pair = closing.add(await sessionPair(false));
    const incoming = nextStream(pair.server);
    const clientSide = await pair.client.openStream({ streamType: 'data' });
    const serverSide = await incoming;
    let received = 0;
    clientSide.on('data', (c: Buffer) => (received += c.length));
    const ended = new Promise((r) => clientSide.once('end', r));
    serverSide.end(Buffer.alloc(2 * 1024 * 1024, 2)); // far beyond the 64 KiB default window
    await ended;
    expect(received).to.equal(2 * 1024 * 1024);
    const control = pair.serverFrames.filter((f) => f.type === 'settings' || f.type === 'window_update');
    expect(control).to.deep.equal([]);
  });

  it('resets a stream the peer opened with an id of the wrong parity', async () => {
    const pair = closing.add(await sessionPair(true));
    // A client stream id must be odd; forge an even one through a second client-role session's socket.
    const { encodeSynStream } = await import('./frames');
    const { HeaderCompressor } = await import('./header-codec');
    const block = await new HeaderCompressor().compress({ streamtype: ['x'] });
    const raw = (pair.client as unknown as { socket: net.Socket }).socket;
    raw.write(encodeSynStream(2, block));
    const deadline = Date.now() + 2000;
    while (!pair.serverFrames.some((f) => f.type === 'rst_stream') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(pair.serverFrames.find((f) => f.type === 'rst_stream')).to.deep.include({ streamId: 2, status: 1 });
  });

  it('rejects pending opens and ends streams when the connection drops', async () => {
    const pair = closing.add(await sessionPair(true));
    const incoming = nextStream(pair.server);
    const clientSide = await pair.client.openStream({ streamType: 'data' });
    await incoming;
    const closed = new Promise((r) => clientSide.once('close', r));
    pair.server.destroy();
    await closed;
    const err = await pair.client.openStream({ streamType: 'late' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(Error);
  });
});
