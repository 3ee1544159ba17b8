import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { spdyRemoteCommand } from '../../test/support/spdy-client';
import { startLocalStreamingServer, type LocalStreamingFixture } from '../testing/streaming-fixtures';

describe('streaming server: attach over SPDY/3.1', () => {
  let f: LocalStreamingFixture;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    f = await startLocalStreamingServer();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await f.server.close();
  });

  function startContainer(id: string, script: string, stdinOnce: boolean): ChildProcess {
    const child = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    f.attach.register(id, child, { stdinOnce });
    return child;
  }

  it('sees the output of a running container, and the container outlives the detach', async () => {
    const child = startContainer('ticker', 'while true; do echo tick; sleep 0.05; done', false);
    const rc = await spdyRemoteCommand(f.server.getAttachUrl({ containerId: 'ticker', tty: false, stdin: false, stdout: true, stderr: true }), { stderr: true });
    const seen = await new Promise<string>((resolve) => {
      let text = '';
      rc.stdoutStream?.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.split('tick').length > 3) resolve(text);
      });
    });
    expect(seen).to.contain('tick\ntick\n');
    rc.session.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect(child.exitCode).to.equal(null);
  });

  it('closes the container stdin with stdin_once when the client ends its stdin, and reports Success at exit', async () => {
    startContainer('once', 'cat; echo stdin-closed', true);
    const rc = await spdyRemoteCommand(f.server.getAttachUrl({ containerId: 'once', tty: false, stdin: true, stdout: true, stderr: true }), { stdin: true, stderr: true });
    rc.stdin?.end('line\n');
    expect((await rc.stdout).toString()).to.equal('line\nstdin-closed\n');
    expect(JSON.parse(await rc.error)).to.deep.equal({ metadata: {}, status: 'Success' });
  });

  it('keeps the container stdin open without stdin_once', async () => {
    const child = startContainer('keep', 'cat', false);
    const rc = await spdyRemoteCommand(f.server.getAttachUrl({ containerId: 'keep', tty: false, stdin: true, stdout: true, stderr: false }), { stdin: true });
    let text = '';
    rc.stdoutStream?.on('data', (c: Buffer) => (text += c.toString()));
    rc.stdin?.end('first\n');
    const deadline = Date.now() + 5000;
    while (!text.includes('first') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(text).to.equal('first\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(child.exitCode, 'cat still running: its stdin stayed open').to.equal(null);
    rc.session.destroy();
  });

  it('reports an unknown container as an error status', async () => {
    const rc = await spdyRemoteCommand(f.server.getAttachUrl({ containerId: 'nope', tty: false, stdin: false, stdout: true, stderr: false }), {});
    const status = JSON.parse(await rc.error);
    expect(status).to.include({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(status.message).to.contain('container nope is not running');
  });
});
