/**
 * Terminal exec and Attach on real containers (root, runc + conmon): `runc exec --tty` on a
 * pseudoterminal from native/ (interactive shell, exit code, `stty size` after resizes, stderr
 * merged), and Attach through conmon's SOCK_SEQPACKET attach socket (output of a running
 * container, stdin to `cat` with stdin_once, a tty container resized through conmon's ctl fifo),
 * driven by our own SPDY and WebSocket clients. Everything is removed in after hooks.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { FailedPreconditionError } from '../../common/errors';
import { StreamingServer } from '../../cri/streaming/server';
import type { ContainerConfigInput } from '../../runtime/spec/inputs';
import { containerConfigInput } from '../../runtime/testing/spec-fixtures';
import { spdyRemoteCommand } from '../support/spdy-client';
import { connectWs, type WsSession } from '../support/ws-stream-client';
import { pollValue } from './support/wait';
import { createRuntimeEnv, destroyRuntimeEnv, type RuntimeEnv } from './runtime-support';
import { addStreamingOps } from './support/pod-containers';
import { expectSttySize } from './support/terminal';

describe('e2e streaming: tty exec and attach on runc containers', function () {
  this.timeout(60_000);
  let env: RuntimeEnv;
  let server: StreamingServer;
  let shellId: string;
  let seq = 0;

  const config = (patch: Partial<ContainerConfigInput>): ContainerConfigInput => containerConfigInput(`t${++seq}`, patch);

  async function run(patch: Partial<ContainerConfigInput>): Promise<string> {
    const id = await env.manager.createContainer(env.pod.id, config(patch));
    await env.manager.startContainer(id);
    return id;
  }

  before(async () => {
    env = await createRuntimeEnv();
    addStreamingOps(env.native);
    shellId = await run({ command: ['sleep', '3600'] });
    server = await StreamingServer.start({ backends: { exec: env.manager, attach: env.manager }, logger: silentLogger });
  });

  after(async () => {
    await server?.close();
    if (env) await destroyRuntimeEnv(env);
  });

  const ttyExecUrl = (cmd: string[]) => server.getExecUrl({ containerId: shellId, cmd, tty: true, stdin: true, stdout: true, stderr: false });

  it('SPDY: an interactive shell on a terminal sees its size, merges stderr, and exits 7', async () => {
    const rc = await spdyRemoteCommand(ttyExecUrl(['sh']), { stdin: true, tty: true });
    rc.sendResize(100, 40);
    rc.stdin!.write('stty size; echo "out-$((3+4))"; echo "err-line" >&2; tty; exit 7\n');
    // Output written before runc cleared ONLCR on the container's pty is translated twice (see
    // cri/streaming/README.md): an extra CR, invisible on a terminal.
    const out = (await rc.stdout).toString().replace(/\r\r\n/g, '\r\n');
    expect(out, JSON.stringify(out)).to.contain('40 100\r\n').and.to.contain('out-7\r\n').and.to.contain('err-line\r\n');
    expect(out).to.match(/\/dev\/pts\/\d+\r\n/); // the container's own pty
    const status = JSON.parse(await rc.error);
    expect(status.reason).to.equal('NonZeroExitCode');
    expect(status.details.causes).to.deep.equal([{ reason: 'ExitCode', message: '7' }]);
  });

  it('a quick command on a terminal: its output as a terminal shows it, exit 0', async () => {
    const rc = await spdyRemoteCommand(server.getExecUrl({ containerId: shellId, cmd: ['echo', 'hi'], tty: true, stdin: false, stdout: true, stderr: false }), { tty: true });
    rc.sendResize(80, 24);
    // One CR, or two when echo wrote before runc cleared ONLCR on the container's pty (README).
    expect((await rc.stdout).toString()).to.match(/^hi\r{1,2}\n$/);
    expect(JSON.parse(await rc.error).status).to.equal('Success');
  });

  it('WebSocket v5: a resize in the middle of the session reaches the running shell', async () => {
    const s: WsSession = await connectWs(ttyExecUrl(['sh']), ['v5.channel.k8s.io']);
    s.send(4, JSON.stringify({ Width: 80, Height: 24 }));
    s.send(0, 'stty size\n');
    // One CR, or two when the shell wrote before runc cleared ONLCR on the container's pty (README).
    await pollValue(() => s.channelData(1).toString(), (o) => /24 80\r{1,2}\n/.test(o));
    s.send(4, JSON.stringify({ Width: 120, Height: 30 }));
    await new Promise((r) => setTimeout(r, 100)); // SIGWINCH → runc copies the size
    s.send(0, 'stty size; exit 0\n');
    await s.closed;
    const out = s.channelData(1).toString();
    expect(out, JSON.stringify(out)).to.match(/24 80\r{1,2}\n/).and.to.match(/30 120\r{1,2}\n/);
    expect(JSON.parse(s.channelData(3).toString()).status).to.equal('Success');
  });

  it('a big paste into a program that does not read stdin never stalls the daemon`s event loop', async () => {
    const rc = await spdyRemoteCommand(ttyExecUrl(['sh', '-c', 'sleep 1; echo done']), { stdin: true, tty: true });
    rc.sendResize(80, 24);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    rc.stdin!.write(Buffer.alloc(512 * 1024, 'x'));
    await new Promise((r) => setTimeout(r, 700));
    clearInterval(timer);
    expect(ticks).to.be.greaterThan(20);
    rc.session.destroy();
  });

  it('a command that does not exist fails the session with runc`s reason, on a terminal too', async () => {
    const rc = await spdyRemoteCommand(ttyExecUrl(['/no/such/binary']), { stdin: true, tty: true });
    const status = JSON.parse(await rc.error);
    expect(status.status).to.equal('Failure');
    expect(status.message).to.match(/no such file or directory|not found/i);
  });

  it('a terminal exec is killed in the container when the client goes away', async () => {
    const rc = await spdyRemoteCommand(ttyExecUrl(['sh', '-c', 'echo started; exec sleep 37']), { stdin: true, tty: true });
    await new Promise<void>((resolve) => rc.stdoutStream?.once('data', () => resolve()));
    rc.session.destroy();
    const ps = await pollValue(
      () => env.manager.execSync(shellId, ['ps', '-o', 'args'], 5).then((r) => r.stdout.toString()),
      (out) => !out.includes('sleep 37'),
    );
    expect(ps).to.not.contain('sleep 37');
  });

  it('a terminal exec ends when the process holding its terminal dies (berthd killed mid-session): no orphan', async () => {
    // A separate Node process runs the session as berthd would, then is SIGKILLed: its pty master
    // closes, runc (whose controlling terminal it is) gets SIGHUP and passes it on to `sleep 39`.
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-tty-holder-'));
    try {
      const modules = path.join(__dirname, '..', '..');
      const script = [
        `const { runTtyExecSession } = require(${JSON.stringify(path.join(modules, 'runtime', 'exec-tty'))});`,
        `const { loadNativeBinding } = require(${JSON.stringify(path.join(modules, 'native', 'addon'))});`,
        `const { RuncDriver } = require(${JSON.stringify(path.join(modules, 'runtime', 'oci-driver', 'runc-driver'))});`,
        `const rec = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));`,
        `runTtyExecSession(rec, new RuncDriver('/usr/sbin/runc', process.argv[2]), ['sleep', '39'], { tty: true }, new AbortController().signal, loadNativeBinding());`,
      ].join('\n');
      const holder = spawn(process.execPath, ['-e', script, path.join(env.base, 'containers', shellId, 'state.json'), env.runcRoot], {
        stdio: 'ignore',
        env: { ...process.env, TMPDIR: tmp }, // its process.json dir, left behind by the SIGKILL
      });
      const ps = () => env.manager.execSync(shellId, ['ps', '-o', 'args'], 5).then((r) => r.stdout.toString());
      expect(await pollValue(ps, (out) => out.includes('sleep 39'))).to.contain('sleep 39');
      holder.kill('SIGKILL');
      expect(await pollValue(ps, (out) => !out.includes('sleep 39'))).to.not.contain('sleep 39');
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });

  it('attach sees the output of a running container and leaves it running when the client goes', async () => {
    const id = await run({ command: ['sh', '-c', 'i=0; while true; do echo "line-$i"; i=$((i+1)); sleep 0.1; done'] });
    const rc = await spdyRemoteCommand(server.getAttachUrl({ containerId: id, tty: false, stdin: false, stdout: true, stderr: true }), { stderr: true });
    let seen = '';
    rc.stdoutStream!.on('data', (d: Buffer) => (seen += d.toString()));
    seen = await pollValue(() => seen, (s) => (s.match(/line-\d+\n/g) ?? []).length >= 3);
    expect(seen).to.match(/line-\d+\nline-\d+\nline-\d+\n/);
    rc.session.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(env.manager.statusView(id).state).to.equal('running');
  });

  it('attach keeps the container`s stdout and stderr apart (conmon stream ids 2 and 3)', async () => {
    const id = await run({ command: ['sh', '-c', 'while true; do echo to-out; echo to-err >&2; sleep 0.1; done'] });
    const s = await connectWs(server.getAttachUrl({ containerId: id, tty: false, stdin: false, stdout: true, stderr: true }), ['v5.channel.k8s.io']);
    await pollValue(() => s.channelData(2).toString(), (e) => (e.match(/to-err\n/g) ?? []).length >= 2);
    s.ws.close();
    await s.closed;
    expect(s.channelData(1).toString()).to.match(/^(to-out\n)+$/);
    expect(s.channelData(2).toString()).to.match(/^(to-err\n)+$/);
  });

  it('attach with stdin to `cat` echoes input; with stdin_once the end of stdin ends the container', async () => {
    const id = await run({ command: ['cat'], stdin: true, stdinOnce: true });
    const s = await connectWs(server.getAttachUrl({ containerId: id, tty: false, stdin: true, stdout: true, stderr: true }), ['v5.channel.k8s.io']);
    s.send(0, 'hello through conmon\n');
    expect(await pollValue(() => s.channelData(1).toString(), (o) => o.includes('hello through conmon\n'))).to.equal('hello through conmon\n');
    s.send(255, Buffer.from([0])); // v5: close stdin
    await s.closed;
    const state = await pollValue(() => env.manager.statusView(id).state, (st) => st === 'exited');
    expect(state).to.equal('exited');
    expect(env.manager.statusView(id).exitCode).to.equal(0);
  });

  it('without stdin_once the container`s stdin outlives an attach session: a second attach still reaches `cat`', async () => {
    const id = await run({ command: ['cat'], stdin: true, stdinOnce: false });
    const url = () => server.getAttachUrl({ containerId: id, tty: false, stdin: true, stdout: true, stderr: true });
    const first = await connectWs(url(), ['v5.channel.k8s.io']);
    first.send(0, 'first\n');
    await pollValue(() => first.channelData(1).toString(), (o) => o.includes('first\n'));
    first.send(255, Buffer.from([0])); // end of this client's stdin: conmon leaves the container's open
    await new Promise((r) => setTimeout(r, 200));
    first.ws.close();
    await first.closed;
    expect(env.manager.statusView(id).state).to.equal('running');
    const second = await connectWs(url(), ['v5.channel.k8s.io']);
    second.send(0, 'second\n');
    expect(await pollValue(() => second.channelData(1).toString(), (o) => o.includes('second\n'))).to.equal('second\n');
    second.ws.close();
    await second.closed;
  });

  it('attach to a tty container: the resize goes through conmon`s ctl fifo to the container`s terminal', async () => {
    const id = await run({ command: ['sh'], stdin: true, tty: true });
    const rc = await spdyRemoteCommand(server.getAttachUrl({ containerId: id, tty: true, stdin: true, stdout: true, stderr: false }), { stdin: true, tty: true });
    await expectSttySize(rc, 111, 33);
    rc.session.destroy();
  });

  it('attach to a container that is not running is refused (FailedPrecondition)', async () => {
    const id = await env.manager.createContainer(env.pod.id, config({ command: ['true'] }));
    const error = await env.manager.attach(id, { tty: false }, new AbortController().signal).then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(FailedPreconditionError);
  });
});
