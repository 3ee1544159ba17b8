/**
 * berthd's /healthz and /readyz on the metrics listener, `berthd wait-ready`, and READY=1 to
 * systemd's NOTIFY_SOCKET: a daemon whose CNI plugins are missing serves CRI but is not ready
 * (503 naming the network) until the plugins appear.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBerthd, startBerthd, type BerthdInstance } from './support/berthd';

async function get(address: string, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}${urlPath}`);
  return { status: res.status, body: await res.text() };
}

async function eventually<T>(probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('e2e: berthd health endpoints', function () {
  this.timeout(90_000);
  let d: BerthdInstance | undefined;
  let tmp: string | undefined;
  let receiver: ChildProcess | undefined;
  afterEach(async () => {
    receiver?.kill('SIGKILL');
    receiver = undefined;
    await d?.cleanup();
    d = undefined;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('answers readyz 503 naming the network while CNI plugins are missing, 200 once they appear; healthz 200 throughout', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-health-'));
    const pluginDir = path.join(tmp, 'cni-bin');
    fs.mkdirSync(pluginDir);
    const port = await freePort();
    const metricsListen = `127.0.0.1:${port}`;
    const address = metricsListen;
    // Polls from spawn on: the endpoint answers before recovery and the CRI socket are done.
    const seen: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await get(address, '/readyz').catch(() => undefined);
        if (r && seen[seen.length - 1] !== r.status) seen.push(r.status);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      d = await startBerthd({ extraArgs: ['--metrics-listen', metricsListen, '--cni-plugin-dirs', pluginDir] });
    } finally {
      polling = false;
      await poller;
    }
    expect(d.metricsAddress).to.equal(address);
    expect((await d.client().version({})).runtimeName).to.equal('berth');

    expect(await get(address, '/healthz')).to.deep.equal({ status: 200, body: 'ok\n' });
    const notReady = await get(address, '/readyz');
    expect(notReady.status).to.equal(503);
    expect(notReady.body).to.match(/^\[\+\]cri ok\n\[\+\]recovery ok\n\[-\]network failed: NetworkPluginNotReady: no valid network config in .* plugins \(.*bridge.*\) are not in .*cni-bin\nreadyz check failed\n$/);
    expect(seen).to.deep.equal([503]);
    const status = await d.client().status({});
    expect(status.status?.conditions?.find((c) => c.type === 'NetworkReady')?.status).to.equal(false);

    const args = ['wait-ready', '--metrics-listen', metricsListen];
    const timedOut = await runBerthd([...args, '--timeout', '1']);
    expect(timedOut.code).to.equal(1);
    expect(timedOut.stderr).to.contain('not ready after 1 s').and.contain('[-]network failed: NetworkPluginNotReady');
    expect((await runBerthd([...args, '--timeout', '1', '--exclude', 'network'])).code).to.equal(0);
    expect((await runBerthd([...args, '--exclude', 'netwrok'])).code).to.equal(2);

    // The plugins arrive; any change in the CNI config dir makes berthd look again.
    const waiting = runBerthd([...args, '--timeout', '30']);
    for (const plugin of fs.readdirSync('/usr/lib/cni')) fs.symlinkSync(path.join('/usr/lib/cni', plugin), path.join(pluginDir, plugin));
    fs.writeFileSync(path.join(d.tmpDir, 'cni-conf', 'README'), 'changed\n');
    const waited = await waiting;
    expect(waited.code, waited.stderr).to.equal(0);
    expect(waited.stdout).to.contain(`berthd ready (http://${address}/readyz?verbose)`);
    expect(await get(address, '/readyz')).to.deep.equal({ status: 200, body: 'ok\n' });
    expect(await get(address, '/readyz?verbose')).to.deep.equal({ status: 200, body: '[+]cri ok\n[+]recovery ok\n[+]network ok\nreadyz check passed\n' });
    expect(await get(address, '/healthz')).to.deep.equal({ status: 200, body: 'ok\n' });
  });

  it('polls the CRI socket when metrics are off', async () => {
    d = await startBerthd({ metrics: false });
    const r = await runBerthd(['wait-ready', '--timeout', '5', '--metrics-listen', '', '--listen', d.socketPath]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`berthd ready (unix:${d.socketPath})\n`);
    await d.stop();
    const gone = await runBerthd(['wait-ready', '--timeout', '0.3', '--metrics-listen', '', '--listen', d.socketPath]);
    expect(gone.code).to.equal(1);
    expect(gone.stderr).to.contain(`connect ${d.socketPath}`);
  });

  it('sends READY=1 to NOTIFY_SOCKET once serving', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-notify-'));
    const sock = path.join(tmp, 'notify');
    receiver = spawn('/usr/bin/python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    receiver.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    await eventually(async () => (fs.existsSync(sock) ? true : undefined), 5000);
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = sock;
    try {
      d = await startBerthd();
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    }
    const ready = await eventually(async () => (out.includes('READY=1') ? out : undefined), 10_000);
    expect(ready.split('\n')).to.include.members(['READY=1', `STATUS=serving CRI on ${d.socketPath}`]);
  });
});

/** Prints each notification datagram (systemd-notify's BARRIER=1 ones excluded). */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    data = s.recv(4096).decode()
    if 'BARRIER=1' not in data:
        print(data, flush=True)
`;
import { freePort } from './support/registry';
