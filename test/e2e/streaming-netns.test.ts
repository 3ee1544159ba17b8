/**
 * Port-forward into a real network namespace (root, native addon built): a web server listens
 * only inside the namespace; our SPDY client reaches it through the streaming server and
 * NetnsPortForwardBackend (connectInNetns), with no route from the host. The namespace and the
 * server are removed in after hooks.
 */
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { silentLogger } from '../../common/logger';
import { NetnsPortForwardBackend, staticNetnsLookup } from '../../cri/streaming/netns-port-forward';
import { StreamingServer } from '../../cri/streaming/server';
import { loadNativeBinding } from '../../native/addon';
import { readAll, SpdyPortForwardClient } from '../support/spdy-client';
import { connectWs } from '../support/ws-stream-client';
import { deleteNetnsIfAny, killAndWait } from './support/terminal';

const WEB_SERVER = `
const http = require('http');
http.createServer((req, res) => res.end('inside the pod ' + req.url))
  .listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));`;

describe('e2e streaming: port-forward into a network namespace', function () {
  this.timeout(30_000);
  const name = `berth-sf-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const netnsPath = `/run/netns/${name}`;
  const port = 20000 + Math.floor(Math.random() * 20000);
  let web: ChildProcess | undefined;
  let server: StreamingServer | undefined;
  let client: SpdyPortForwardClient | undefined;

  before(async () => {
    expect(process.getuid?.(), 'these tests need root').to.equal(0);
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    web = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', WEB_SERVER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      web?.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      web?.on('exit', (code) => reject(new Error(`web server exited with ${code}`)));
    });
    const backend = new NetnsPortForwardBackend(staticNetnsLookup({ pod1: netnsPath }), loadNativeBinding());
    server = await StreamingServer.start({ backends: { portForward: backend }, logger: silentLogger });
  });

  after(async () => {
    client?.session.destroy();
    await server?.close();
    await killAndWait(web);
    deleteNetnsIfAny(name);
  });

  it('the web server is not reachable from the host', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => (s.destroy(), resolve('connected')));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(outcome).to.equal('ECONNREFUSED');
  });

  it('fetches a page over SPDY and carries 20 parallel connections', async () => {
    client = await SpdyPortForwardClient.connect(server!.getPortForwardUrl({ podSandboxId: 'pod1', ports: [port] }));
    const fetchPage = async (path: string) => {
      const conn = await client!.open(port);
      conn.data.write(`GET ${path} HTTP/1.0\r\n\r\n`);
      return (await readAll(conn.data)).toString();
    };
    expect(await fetchPage('/first')).to.match(/^HTTP\/1\.1 200 OK[\s\S]*inside the pod \/first$/);
    const pages = await Promise.all(Array.from({ length: 20 }, (_, i) => fetchPage(`/p${i}`)));
    pages.forEach((p, i) => expect(p).to.match(new RegExp(`inside the pod /p${i}$`)));
  });

  it('reports a closed port in the namespace on the error stream', async () => {
    const c = await SpdyPortForwardClient.connect(server!.getPortForwardUrl({ podSandboxId: 'pod1', ports: [] }));
    try {
      const conn = await c.open(port === 65535 ? port - 1 : port + 1);
      expect(await conn.error).to.match(/error forwarding port \d+ to pod pod1: connect to port \d+ in pod pod1.*(ECONNREFUSED|refused)/i);
    } finally {
      c.session.destroy();
    }
  });

  it('fetches the page over the WebSocket port-forward protocol too', async () => {
    const s = await connectWs(server!.getPortForwardUrl({ podSandboxId: 'pod1', ports: [] }) + `?port=${port}`, ['v4.channel.k8s.io']);
    s.send(0, 'GET /ws HTTP/1.0\r\n\r\n');
    await s.closed;
    expect(Buffer.concat((s.received.get(0) ?? []).slice(1)).toString()).to.contain('inside the pod /ws');
  });
});
