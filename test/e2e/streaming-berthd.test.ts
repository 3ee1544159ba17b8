/**
 * Terminal exec and Attach through a real berthd, the way kubelet and crictl use them: the CRI
 * Exec/Attach RPCs return URLs and our SPDY/WebSocket clients connect to them. Checks the wiring
 * (ContainerManager as the streaming server's exec and attach backend, the native addon the daemon
 * loads) and the effect in the container (terminal size, stdin reaching `cat`, stdin_once ending
 * it). berthd, the registry and the temp dir are removed in the after hook.
 */
import { expect } from 'chai';
import { spdyRemoteCommand } from '../support/spdy-client';
import { connectWs } from '../support/ws-stream-client';
import { CriStack, k8sMirrorConf } from './support/cri-stack';
import { pollValue } from './support/wait';
import { expectSttySize } from './support/terminal';

const IMAGE = 'registry.k8s.io/berth-tty:1';

describe('e2e streaming through berthd: tty exec and attach', function () {
  this.timeout(120_000);
  const stack = new CriStack('tty-attach');
  let podId = '';

  async function run(name: string, config: { command: string[]; stdin?: boolean; stdinOnce?: boolean; tty?: boolean }): Promise<string> {
    const { containerId } = await stack.client.createContainer({
      podSandboxId: podId,
      config: { metadata: { name, attempt: 0 }, image: { image: IMAGE }, logPath: `${name}.log`, ...config },
      sandboxConfig: stack.podConfig(),
    });
    await stack.client.startContainer({ containerId });
    return containerId ?? '';
  }

  before(async () => {
    await stack.start({ busybox: { repository: 'berth-tty', tag: '1' }, registriesConf: k8sMirrorConf, pull: false });
    await stack.client.pullImage({ image: { image: IMAGE } });
    podId = await stack.runPod(stack.podConfig());
  });

  after(() => stack.stop());

  it('Exec with a terminal: interactive shell, `stty size` after a resize, exit code 7', async () => {
    const id = await run('sleeper', { command: ['sleep', '3600'] });
    const { url } = await stack.client.exec({ containerId: id, cmd: ['sh'], tty: true, stdin: true, stdout: true });
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
    const { url } = await stack.client.attach({ containerId: id, stdin: true, stdout: true, stderr: true });
    const s = await connectWs(url ?? '', ['v5.channel.k8s.io']);
    s.send(0, 'ping through berthd\n');
    const echoed = await pollValue(() => s.channelData(1).toString(), (o) => o.includes('\n'));
    expect(echoed).to.equal('ping through berthd\n');
    s.send(255, Buffer.from([0]));
    await s.closed;
    const status = await pollValue(
      () => stack.client.containerStatus({ containerId: id }),
      (st) => st.status?.state === 2, // CONTAINER_EXITED
    );
    expect(status.status?.state).to.equal(2);
    expect(status.status?.exitCode).to.equal(0);
  });

  it('Attach to a tty container over SPDY: a resize reaches its terminal', async () => {
    const id = await run('shell', { command: ['sh'], stdin: true, tty: true });
    const { url } = await stack.client.attach({ containerId: id, stdin: true, stdout: true, tty: true });
    const rc = await spdyRemoteCommand(url ?? '', { stdin: true, tty: true });
    await expectSttySize(rc, 90, 21);
    rc.session.destroy();
    const status = await stack.client.containerStatus({ containerId: id });
    expect(status.status?.state).to.equal(1); // still running after the client left
  });
});
