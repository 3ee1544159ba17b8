/**
 * Interoperability with the real Go clients: kubectl's own SPDY (spdystream) and WebSocket
 * remotecommand/port-forward code talks to our streaming server through a fake apiserver that
 * proxies the upgrade exactly as kubelet's proxy would. Needs `kubectl` and `script` on PATH.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { startBulkSource, startByteCounter, startHttpServer, startLocalStreamingServer, type LocalStreamingFixture, type TcpFixture } from '../../cri/testing/streaming-fixtures';
import { kubeconfigFor, startFakeApiserver, type FakeApiserver } from '../support/fake-apiserver';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('e2e streaming: kubectl against the streaming server', function () {
  this.timeout(60_000);
  let f: LocalStreamingFixture;
  let api: FakeApiserver;
  let dir: string;
  let kubeconfig: string;
  const children: ChildProcess[] = [];
  const fixtures: TcpFixture[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-streaming-kubectl-'));
    kubeconfig = path.join(dir, 'kubeconfig');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    f = await startLocalStreamingServer();
    api = await startFakeApiserver(f.server);
    await writeFile(kubeconfig, kubeconfigFor(api.url));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await api.close();
    await f.server.close();
    await Promise.all(fixtures.splice(0).map((x) => x.close()));
  });

  function run(cmd: string, args: string[], opts: { input?: string; inputDelayMs?: number; env?: Record<string, string> } = {}): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(cmd, args, { env: { ...process.env, ...opts.env } });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      if (opts.input !== undefined) {
        const input = opts.input;
        if (opts.inputDelayMs) setTimeout(() => child.stdin.write(input), opts.inputDelayMs);
        else child.stdin.end(input);
      }
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  for (const [label, websockets] of [
    ['SPDY/3.1', 'false'],
    ['WebSocket', 'true'],
  ] as const) {
    it(`kubectl exec -i over ${label}: stdin, stdout, stderr and exit code 7`, async () => {
      const r = await run('kubectl', ['--kubeconfig', kubeconfig, 'exec', '-i', 'streamer', '--', '/bin/sh', '-c', 'cat; echo hi; echo warn >&2; exit 7'], {
        input: 'typed\n',
        env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: websockets },
      });
      expect(r.stdout).to.equal('typed\nhi\n');
      expect(r.stderr).to.contain('warn\n').and.to.contain('command terminated with exit code 7');
      expect(r.code).to.equal(7);
    });

    it(`kubectl exec -it over ${label} in a terminal: the terminal size reaches the backend`, async () => {
      const script = `stty cols 100 rows 30; kubectl --kubeconfig ${kubeconfig} exec -it streamer -- /bin/sh -c 'read x; echo got-$x; exit 3'; echo kubectl-exit=$?`;
      const r = await run('script', ['-qec', script, '/dev/null'], { input: 'abc\n', inputDelayMs: 1500, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: websockets } });
      expect(r.stdout).to.contain('got-abc');
      expect(r.stdout).to.contain('kubectl-exit=3');
      expect(f.exec.resizes).to.deep.include({ width: 100, height: 30 });
    });
  }

  it('kubectl port-forward: a page and 20 parallel connections through kubectl', async () => {
    const web = await startHttpServer('served from the pod\n');
    fixtures.push(web);
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'port-forward', 'pod/streamer', `:${web.port}`]);
    children.push(child);
    const localPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('close', (code) => reject(new Error(`kubectl port-forward exited with ${code}: ${out}`)));
    });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: localPort, path: '/', agent: false }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    expect(await get()).to.equal('served from the pod\n');
    const bodies = await Promise.all(Array.from({ length: 20 }, get));
    expect(bodies).to.deep.equal(Array(20).fill('served from the pod\n'));
  });

  it('kubectl port-forward moves 100 MB each way (spdystream has no flow control: TCP backpressure)', async () => {
    const total = 100 * 1024 * 1024;
    const source = await startBulkSource(total);
    const counter = await startByteCounter();
    fixtures.push(source, counter);
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'port-forward', 'pod/streamer', `:${source.port}`, `:${counter.port}`]);
    children.push(child);
    const [down, up] = await new Promise<number[]>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = [...out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+)/g)];
        if (m.length >= 2) resolve(m.map((x) => Number(x[1])));
      });
      child.once('close', (code) => reject(new Error(`kubectl port-forward exited with ${code}: ${out}`)));
    });
    const received = await new Promise<number>((resolve, reject) => {
      let n = 0;
      const s = net.connect(down, '127.0.0.1');
      s.on('data', (c: Buffer) => (n += c.length));
      s.on('end', () => resolve(n));
      s.on('error', reject);
    });
    expect(received).to.equal(total);
    const counted = await new Promise<string>((resolve, reject) => {
      const s = net.connect(up, '127.0.0.1');
      let reply = '';
      s.on('data', (c: Buffer) => (reply += c.toString()));
      s.on('end', () => resolve(reply));
      s.on('error', reject);
      const block = Buffer.alloc(1024 * 1024, 3);
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += block.length;
          if (!s.write(block)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    expect(counted).to.equal(String(total));
  });

  it('kubectl attach sees the output of a running process', async () => {
    const ticker = spawn('/bin/sh', ['-c', 'while true; do echo tick; sleep 0.1; done'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(ticker);
    f.attach.register('main', ticker);
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'attach', 'streamer', '-c', 'main'], { env: { ...process.env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } });
    children.push(child);
    const seen = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('tick').length > 3) resolve(out);
      });
      child.once('close', (code) => reject(new Error(`kubectl attach exited with ${code}: ${out}`)));
    });
    expect(seen).to.contain('tick\ntick\n');
  });
});
