import { expect } from 'chai';
import { connectWs } from '../../test/support/ws-stream-client';
import { MAX_WS_MESSAGE_BYTES } from './server';
import { startEchoServer, startHttpServer, startLocalStreamingServer, unusedPort, type LocalStreamingFixture, type TcpFixture } from '../testing/streaming-fixtures';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;

describe('streaming server: WebSocket', () => {
  let f: LocalStreamingFixture;
  const fixtures: TcpFixture[] = [];
  beforeEach(async () => {
    f = await startLocalStreamingServer();
  });
  afterEach(async () => {
    await f.server.close();
    await Promise.all(fixtures.splice(0).map((x) => x.close()));
  });

  const exec = (cmd: string[], o: { tty?: boolean; stdin?: boolean } = {}) =>
    f.server.getExecUrl({ containerId: 'c1', cmd, tty: o.tty ?? false, stdin: o.stdin ?? false, stdout: true, stderr: !o.tty });

  it('v5: `echo hi; exit 7` gives stdout "hi" and NonZeroExitCode 7 on channel 3', async () => {
    const s = await connectWs(exec(['/bin/sh', '-c', 'echo hi; echo oops >&2; exit 7']), ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    expect(s.protocol).to.equal('v5.channel.k8s.io');
    await s.closed;
    expect(s.channelData(STDOUT).toString()).to.equal('hi\n');
    expect(s.channelData(STDERR).toString()).to.equal('oops\n');
    const status = JSON.parse(s.channelData(ERROR).toString());
    expect(status.reason).to.equal('NonZeroExitCode');
    expect(status.details.causes).to.deep.equal([{ reason: 'ExitCode', message: '7' }]);
  });

  it('counts an open exec session by kind until it closes', async () => {
    expect(f.server.activeSessions()).to.deep.equal({ exec: 0, attach: 0, portforward: 0 });
    const s = await connectWs(exec(['/bin/cat'], { stdin: true }), ['v5.channel.k8s.io']);
    expect(f.server.activeSessions().exec).to.equal(1);
    s.send(255, Buffer.from([STDIN]));
    await s.closed;
    for (let i = 0; i < 100 && f.server.activeSessions().exec !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(f.server.activeSessions()).to.deep.equal({ exec: 0, attach: 0, portforward: 0 });
  });

  it('v5: stdin through `cat`, half-closed with the close signal', async () => {
    const s = await connectWs(exec(['/bin/cat'], { stdin: true }), ['v5.channel.k8s.io']);
    s.send(STDIN, 'typed in\n');
    s.send(255, Buffer.from([STDIN]));
    await s.closed;
    expect(s.channelData(STDOUT).toString()).to.equal('typed in\n');
    expect(JSON.parse(s.channelData(ERROR).toString())).to.deep.equal({ metadata: {}, status: 'Success' });
  });

  it('v4: resize on channel 4 reaches the backend; tty merges stderr into stdout', async () => {
    const s = await connectWs(exec(['/bin/sh', '-c', 'read x; echo err >&2'], { tty: true, stdin: true }), ['v4.channel.k8s.io']);
    expect(s.protocol).to.equal('v4.channel.k8s.io');
    s.send(RESIZE, JSON.stringify({ Width: 100, Height: 30 }));
    const deadline = Date.now() + 5000;
    while (f.exec.resizes.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    s.send(STDIN, 'go\n');
    await s.closed;
    expect(f.exec.resizes).to.deep.equal([{ width: 100, height: 30 }]);
    expect(s.channelData(STDOUT).toString()).to.equal('err\n');
    expect(s.received.has(STDERR)).to.equal(false);
  });

  it('v4.base64: frames are text, channel digit + base64', async () => {
    const s = await connectWs(exec(['/bin/sh', '-c', 'printf "\\001\\377bin"']), ['v4.base64.channel.k8s.io']);
    expect(s.protocol).to.equal('v4.base64.channel.k8s.io');
    await s.closed;
    expect(s.channelData(STDOUT)).to.deep.equal(Buffer.from([1, 255, 0x62, 0x69, 0x6e]));
    expect(JSON.parse(s.channelData(ERROR).toString()).status).to.equal('Success');
  });

  it('port-forward: port prefix on both channels, then a page through the data channel', async () => {
    const web = await startHttpServer('page over websocket');
    fixtures.push(web);
    const url = f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] }) + `?port=${web.port}`;
    const s = await connectWs(url, ['v4.channel.k8s.io']);
    s.send(0, 'GET / HTTP/1.0\r\n\r\n');
    await s.closed;
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(web.port, 0);
    const data = s.received.get(0) ?? [];
    expect(data[0]).to.deep.equal(prefix);
    expect(s.received.get(1)?.[0]).to.deep.equal(prefix);
    expect(Buffer.concat(data.slice(1)).toString()).to.contain('page over websocket');
    expect(Buffer.concat((s.received.get(1) ?? []).slice(1)).length).to.equal(0);
  });

  it('port-forward: two ports at once, one refused with an error on its error channel', async () => {
    const echo = await startEchoServer();
    fixtures.push(echo);
    const dead = await unusedPort();
    const url = f.server.getPortForwardUrl({ podSandboxId: 'p1', ports: [] }) + `?port=${echo.port},${dead}`;
    const s = await connectWs(url, ['v4.channel.k8s.io']);
    s.send(0, 'ping');
    const deadline = Date.now() + 5000;
    while (Buffer.concat((s.received.get(0) ?? []).slice(1)).toString() !== 'ping' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat((s.received.get(0) ?? []).slice(1)).toString()).to.equal('ping');
    expect(Buffer.concat((s.received.get(3) ?? []).slice(1)).toString()).to.contain(`error forwarding port ${dead}`);
    s.ws.close();
    await s.closed;
  });

  it('refuses a reused token with 404', async () => {
    const url = exec(['/bin/true']);
    const first = await connectWs(url, ['v5.channel.k8s.io']);
    await first.closed;
    const err = await connectWs(url, ['v5.channel.k8s.io']).then(
      () => undefined,
      (e: { statusCode?: number }) => e,
    );
    expect(err?.statusCode).to.equal(404);
  });

  it(`closes a connection whose client sends a message over ${MAX_WS_MESSAGE_BYTES} bytes (1009)`, async () => {
    const s = await connectWs(exec(['/bin/cat'], { stdin: true }), ['v5.channel.k8s.io']);
    s.send(STDIN, Buffer.alloc(MAX_WS_MESSAGE_BYTES + 1));
    expect((await s.closed).code).to.equal(1009);
  });
});
