import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readAll, SpdyPortForwardClient } from '../../test/support/spdy-client';
import { startBulkSource, startByteCounter, startEchoServer, startHttpServer, startLocalStreamingServer, unusedPort, type LocalStreamingFixture, type TcpFixture } from '../testing/streaming-fixtures';

function patternHash(total: number): string {
  const block = Buffer.alloc(256 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = i % 251;
  const h = createHash('sha256');
  for (let sent = 0; sent < total; sent += block.length) h.update(block.subarray(0, Math.min(block.length, total - sent)));
  return h.digest('hex');
}

describe('streaming server: port-forward over SPDY/3.1', () => {
  let f: LocalStreamingFixture;
  const fixtures: TcpFixture[] = [];
  let client: SpdyPortForwardClient | undefined;
  beforeEach(async () => {
    f = await startLocalStreamingServer();
  });
  afterEach(async () => {
    client?.session.destroy();
    client = undefined;
    await f.server.close();
    await Promise.all(fixtures.splice(0).map((x) => x.close()));
  });

  it('fetches a page from an HTTP server', async () => {
    const web = await startHttpServer('hello from the pod\n');
    fixtures.push(web);
    client = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] }));
    const conn = await client.open(web.port);
    conn.data.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const response = (await readAll(conn.data)).toString();
    expect(response).to.match(/^HTTP\/1\.1 200 OK/);
    expect(response).to.contain('hello from the pod');
    expect(await conn.error).to.equal('');
  });

  it('carries 20 parallel connections on one session, each to its own peer', async () => {
    const echo = await startEchoServer();
    fixtures.push(echo);
    client = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [echo.port] }));
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const conn = await client!.open(echo.port);
        const payload = `connection ${i} `.repeat(1000);
        const reply = readAll(conn.data);
        conn.data.end(payload);
        return { payload, reply: (await reply).toString() };
      }),
    );
    for (const r of results) expect(r.reply).to.equal(r.payload);
  });

  it('moves 100 MB intact through the flow-controlled session', async function () {
    this.timeout(60_000);
    const total = 100 * 1024 * 1024;
    const source = await startBulkSource(total);
    fixtures.push(source);
    client = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] }));
    const conn = await client.open(source.port);
    const started = process.hrtime.bigint();
    const hash = createHash('sha256');
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      conn.data.on('data', (c: Buffer) => {
        received += c.length;
        hash.update(c);
      });
      conn.data.on('end', resolve);
      conn.data.on('error', reject);
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    expect(received).to.equal(total);
    expect(hash.digest('hex')).to.equal(patternHash(total));
    // Reported for the record (the bench measures it too).
    console.log(`      100 MB port-forward download: ${(100 / seconds).toFixed(1)} MB/s`);
  });

  it('uploads 100 MB through the session with the server crediting windows as it forwards', async function () {
    this.timeout(60_000);
    const total = 100 * 1024 * 1024;
    const counter = await startByteCounter();
    fixtures.push(counter);
    client = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] }));
    const conn = await client.open(counter.port);
    const reply = readAll(conn.data);
    const block = Buffer.alloc(1024 * 1024, 7);
    for (let sent = 0; sent < total; sent += block.length) {
      if (!conn.data.write(block)) await new Promise((r) => conn.data.once('drain', r));
    }
    conn.data.end();
    expect((await reply).toString()).to.equal(String(total));
  });

  it('answers a port nobody listens on with an error on the error stream, not a hang', async () => {
    const port = await unusedPort();
    client = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] }));
    const conn = await client.open(port);
    const message = await conn.error;
    expect(message).to.contain(`error forwarding port ${port} to pod p1`);
    expect(message).to.match(/ECONNREFUSED|refused/);
    expect((await readAll(conn.data)).length).to.equal(0);
    // The session stays usable for the next connection.
    const web = await startHttpServer('still here');
    fixtures.push(web);
    const next = await client.open(web.port);
    next.data.write('GET / HTTP/1.0\r\n\r\n');
    expect((await readAll(next.data)).toString()).to.contain('still here');
  });

  it('refuses a port outside the ones the PortForward request named', async () => {
    const echo = await startEchoServer();
    fixtures.push(echo);
    client = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [echo.port + 1 > 65535 ? 1 : echo.port + 1] }));
    const conn = await client.open(echo.port);
    expect(await conn.error).to.contain('was not requested');
  });
});
