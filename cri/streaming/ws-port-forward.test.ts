import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { silentLogger } from '../../common/logger';
import { PortForwardLimiter } from './port-forward-limits';
import { MAX_EARLY_BYTES, serveWsPortForward } from './ws-port-forward';

/** The parts of a server-side WebSocket the session uses; `paused` shows whether it is read. */
class FakeWs extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  paused = false;
  send(_data: unknown, cb: () => void): void {
    cb();
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.emit('close');
  }
}

/** A pod connection that records what it receives. */
class PodConn extends Duplex {
  received = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.received += chunk.length;
    cb();
  }
}

describe('streaming: WebSocket port-forward bounds', () => {
  it(`holds at most ${MAX_EARLY_BYTES} bytes (plus one message) for a connection still opening, then stops reading the client`, async () => {
    const ws = new FakeWs();
    let connected: (d: Duplex) => void = () => undefined;
    const backend = { connect: () => new Promise<Duplex>((resolve) => (connected = resolve)) };
    const served = serveWsPortForward(ws as unknown as WebSocket, 'v4.channel.k8s.io', [80], { kind: 'portforward', podSandboxId: 'p1', ports: [] }, { portForward: backend }, silentLogger, new PortForwardLimiter());
    await new Promise((r) => setImmediate(r));
    const message = Buffer.concat([Buffer.from([0]), Buffer.alloc(64 * 1024, 1)]);
    let accepted = 0;
    // The client sends 20 MiB while the pod connection is being opened; a real ws stops emitting when paused.
    while (!ws.paused && accepted < 20 * 1024 * 1024) {
      ws.emit('message', message, true);
      accepted += message.length - 1;
    }
    expect(ws.paused, 'reading paused').to.equal(true);
    expect(accepted).to.be.at.most(MAX_EARLY_BYTES + 64 * 1024);
    const conn = new PodConn();
    connected(conn);
    await new Promise((r) => setImmediate(r));
    expect(conn.received).to.equal(accepted);
    expect(ws.paused, 'reading resumed once connected').to.equal(false);
    ws.close();
    await served;
  });
});
