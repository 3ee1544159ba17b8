/**
 * Terminal exec and Attach through a real berthd, the way kubelet and crictl use them: the CRI
 * Exec/Attach RPCs return URLs and our SPDY/WebSocket clients connect to them. Checks the wiring
 * (ContainerManager as the streaming server's exec and attach backend, the native addon the daemon
 * loads) and the effect in the container (terminal size, stdin reaching `cat`, stdin_once ending
 * it). berthd, the registry and the temp dir are removed in the after hook.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CriClient } from '../support/cri-client';
import { spdyRemoteCommand } from '../support/spdy-client';
import { connectWs } from '../support/ws-stream-client';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { startRegistry, type TestRegistry } from './support/registry';
import { busyboxImage, pushImage } from './support/test-images';

const IMAGE = 'registry.k8s.io/berth-tty:1';

async function waitFor<T>(read: () => T | Promise<T>, predicate: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!predicate(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    value = await read();
  }
  return value;
}

describe('e2e streaming through berthd: tty exec and attach', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let berthd: BerthdInstance;
  let client: CriClient;
  let work: string;
  let podId = '';

  const podConfig = () => ({
    metadata: { name: 'tty-attach', namespace: 'e2e', uid: 'uid-tty-attach', attempt: 0 },
    hostname: 'tty-attach',
    logDirectory: path.join(work, 'logs'),
    linux: {},
  });

  async function run(name: string, config: { command: string[]; stdin?: boolean; stdinOnce?: boolean; tty?: boolean }): Promise<string> {
    const { containerId } = await client.createContainer({
      podSandboxId: podId,
      config: { metadata: { name, attempt: 0 }, image: { image: IMAGE }, logPath: `${name}.log`, ...config },
      sandboxConfig: podConfig(),
    });
    await client.startContainer({ containerId });
    return containerId ?? '';
  }

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-stream-d-'));
    fs.mkdirSync(path.join(work, 'logs'));
    registry = await startRegistry();
    await pushImage(registry.host, 'berth-tty', '1', await busyboxImage());
    const registriesConf = path.join(work, 'registries.conf');
    fs.writeFileSync(
      registriesConf,
      `[[registry]]\nprefix = "registry.k8s.io"\nlocation = "registry.k8s.io"\n[[registry.mirror]]\nlocation = "${registry.host}"\ninsecure = true\n`,
    );
    berthd = await startBerthd({ name: 'berth-stream-d', extraArgs: ['--registries-config', registriesConf] });
    client = berthd.client();
    await client.pullImage({ image: { image: IMAGE } });
    podId = (await client.runPodSandbox({ config: podConfig() })).podSandboxId ?? '';
  });

  after(async () => {
    await berthd?.cleanup();
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('Exec with a terminal: interactive shell, `stty size` after a resize, exit code 7', async () => {
    const id = await run('sleeper', { command: ['sleep', '3600'] });
    const { url } = await client.exec({ containerId: id, cmd: ['sh'], tty: true, stdin: true, stdout: true });
    const rc = await spdyRemoteCommand(url ?? '', { stdin: true, tty: true });
    rc.sendResize(100, 40);
    rc.stdin!.write('stty size; echo "in-$(hostname)"; exit 7\n');
    // An extra CR on output written before runc cleared ONLCR (cri/streaming/README.md).
    const out = (await rc.stdout).toString().replace(/\r\r\n/g, '\r\n');
    expect(out, JSON.stringify(out)).to.contain('40 100\r\n').and.to.contain('in-tty-attach\r\n');
    const status = JSON.parse(await rc.error);
    expect(status.details.causes).to.deep.equal([{ reason: 'ExitCode', message: '7' }]);
  });

  it('Attach with stdin to `cat` (stdin_once): echoes over WebSocket, closing stdin ends the container', async () => {
    const id = await run('cat', { command: ['cat'], stdin: true, stdinOnce: true });
    const { url } = await client.attach({ containerId: id, stdin: true, stdout: true, stderr: true });
    const s = await connectWs(url ?? '', ['v5.channel.k8s.io']);
    s.send(0, 'ping through berthd\n');
    const echoed = await waitFor(() => s.channelData(1).toString(), (o) => o.includes('\n'));
    expect(echoed).to.equal('ping through berthd\n');
    s.send(255, Buffer.from([0]));
    await s.closed;
    const status = await waitFor(
      () => client.containerStatus({ containerId: id }),
      (st) => st.status?.state === 2, // CONTAINER_EXITED
    );
    expect(status.status?.state).to.equal(2);
    expect(status.status?.exitCode).to.equal(0);
  });

  it('Attach to a tty container over SPDY: a resize reaches its terminal', async () => {
    const id = await run('shell', { command: ['sh'], stdin: true, tty: true });
    const { url } = await client.attach({ containerId: id, stdin: true, stdout: true, tty: true });
    const rc = await spdyRemoteCommand(url ?? '', { stdin: true, tty: true });
    let seen = '';
    rc.stdoutStream!.on('data', (d: Buffer) => (seen += d.toString()));
    rc.sendResize(90, 21);
    await new Promise((r) => setTimeout(r, 100));
    rc.stdin!.write('stty size\n');
    seen = await waitFor(() => seen, (o) => o.includes('21 90\r\n'));
    expect(seen).to.contain('21 90\r\n');
    rc.session.destroy();
    const status = await client.containerStatus({ containerId: id });
    expect(status.status?.state).to.equal(1); // still running after the client left
  });
});
