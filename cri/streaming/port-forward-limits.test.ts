import { expect } from 'chai';
import { ResourceExhaustedError } from '../../common/errors';
import { readAll, SpdyPortForwardClient } from '../../test/support/spdy-client';
import { connectWs } from '../../test/support/ws-stream-client';
import { NetnsPortForwardBackend, staticNetnsLookup } from './netns-port-forward';
import { DEFAULT_PORT_FORWARD_LIMITS, PortForwardLimiter } from './port-forward-limits';
import { startEchoServer, startLocalStreamingServer, type LocalStreamingFixture, type TcpFixture } from '../testing/streaming-fixtures';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('streaming: port-forward connection limits', () => {
  it('counts per pod and in total, refuses past either with a message naming the limit, frees on release', () => {
    const l = new PortForwardLimiter({ perPod: 2, total: 3 });
    const a1 = l.acquire('a');
    l.acquire('a');
    expect(() => l.acquire('a')).to.throw(ResourceExhaustedError, 'port-forward: too many connections for pod a (limit 2)');
    l.acquire('b');
    expect(() => l.acquire('c')).to.throw(ResourceExhaustedError, 'port-forward: too many connections on this node (limit 3)');
    a1();
    a1(); // releasing twice gives back one slot only
    expect(l.open()).to.equal(2);
    expect(l.open('a')).to.equal(1);
    l.acquire('c');
    expect(() => l.acquire('a')).to.throw(ResourceExhaustedError);
    expect(DEFAULT_PORT_FORWARD_LIMITS).to.deep.equal({ perPod: 128, total: 1024 });
  });

  describe('through the server', () => {
    let f: LocalStreamingFixture;
    let echo: TcpFixture;
    const clients: SpdyPortForwardClient[] = [];
    beforeEach(async () => {
      f = await startLocalStreamingServer({ portForwardLimits: { perPod: 3, total: 5 } });
      echo = await startEchoServer();
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) c.session.destroy();
      await f.server.close();
      await echo.close();
    });

    const roundTrip = async (conn: Awaited<ReturnType<SpdyPortForwardClient['open']>>, text: string) => {
      const reply = new Promise<string>((resolve) => {
        let got = '';
        conn.data.on('data', (c: Buffer) => {
          got += c.toString();
          if (got.length >= text.length) resolve(got);
        });
      });
      conn.data.write(text);
      return reply;
    };

    it('SPDY: limit+1 connections to one pod: the first 3 work, the 4th gets the error, and after closing one a new one works', async () => {
      const client = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] }));
      clients.push(client);
      const open = [];
      for (let i = 0; i < 3; i++) {
        const conn = await client.open(echo.port);
        expect(await roundTrip(conn, `hello ${i}`)).to.equal(`hello ${i}`);
        open.push(conn);
      }
      const refused = await client.open(echo.port);
      expect(await refused.error).to.equal(`error forwarding port ${echo.port} to pod p1: port-forward: too many connections for pod p1 (limit 3)`);
      expect((await readAll(refused.data)).length).to.equal(0);

      open[0].data.end();
      expect(await open[0].error).to.equal('');
      const again = await client.open(echo.port);
      expect(await roundTrip(again, 'after one closed')).to.equal('after one closed');

      // Other pods share the node-wide limit of 5: 3 for p1 + 2 for p2, the next is refused.
      const other = await SpdyPortForwardClient.connect(f.server.getPortForwardUrl({ podSandboxId: 'p2', ports: [] }));
      clients.push(other);
      for (let i = 0; i < 2; i++) expect(await roundTrip(await other.open(echo.port), 'p2')).to.equal('p2');
      const overTotal = await other.open(echo.port);
      expect(await overTotal.error).to.match(/port-forward: too many connections on this node \(limit 5\)$/);
    });

    it('WebSocket: a session asking for 4 ports of one pod gets 3 and an error for the fourth', async () => {
      const ports = [echo.port, echo.port, echo.port, echo.port];
      const url = `${f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] })}?${ports.map((p) => `port=${p}`).join('&')}`;
      const s = await connectWs(url, ['v4.channel.k8s.io']);
      // Channel 2i+1 carries the port prefix (2 bytes) and then any error text.
      const errorText = (i: number) => s.channelData(2 * i + 1).subarray(2).toString();
      await until(() => [0, 1, 2, 3].some((i) => errorText(i) !== ''));
      const errors = [0, 1, 2, 3].map(errorText).filter((t) => t !== '');
      expect(errors).to.deep.equal([`error forwarding port ${echo.port} to pod p1: port-forward: too many connections for pod p1 (limit 3)`]);
      s.ws.close();
      await s.closed;
    });
  });

  it(`runs at most ${4} native connects (threads) at once; waiting ones leave when their client does`, async () => {
    let running = 0;
    let maxRunning = 0;
    const finishers: Array<() => void> = [];
    const native = {
      connectInNetns: () =>
        new Promise<number>((_resolve, reject) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          finishers.push(() => {
            running--;
            reject(Object.assign(new Error('connect: ETIMEDOUT'), { code: 'ETIMEDOUT' }));
          });
        }),
    };
    const backend = new NetnsPortForwardBackend(staticNetnsLookup({ p1: '/run/netns/x' }), native, 4);
    const aborts = Array.from({ length: 40 }, () => new AbortController());
    const attempts = aborts.map((a) => backend.connect('p1', 80, a.signal).catch((e: Error) => e));
    await until(() => running === 4);
    expect(backend.connectsInFlight).to.equal(4);
    for (const a of aborts.slice(20)) a.abort(); // half of the waiting clients go away
    for (let round = 0; round < 10 && finishers.length > 0; round++) {
      for (const finish of finishers.splice(0)) finish();
      await new Promise((r) => setTimeout(r, 10));
    }
    const results = await Promise.all(attempts);
    expect(maxRunning).to.equal(4);
    expect(results.filter((e) => e instanceof Error && /client went away/.test(e.message))).to.have.length(20);
    expect(results.filter((e) => e instanceof Error && /connect to port 80 in pod p1$/.test(e.message))).to.have.length(20);
    expect(backend.connectsInFlight).to.equal(0);
  });
});
