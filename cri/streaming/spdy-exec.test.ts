import { expect } from 'chai';
import { spdyRemoteCommand, UpgradeRefusedError, connectSpdy } from '../../test/support/spdy-client';
import { startLocalStreamingServer, type LocalStreamingFixture } from '../testing/streaming-fixtures';

function execUrl(f: LocalStreamingFixture, cmd: string[], opts: { tty?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean } = {}): string {
  return f.server.getExecUrl({ containerId: 'c1', cmd, tty: opts.tty ?? false, stdin: opts.stdin ?? false, stdout: opts.stdout ?? true, stderr: opts.stderr ?? !opts.tty });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('streaming server: exec over SPDY/3.1', () => {
  let f: LocalStreamingFixture;
  beforeEach(async () => {
    f = await startLocalStreamingServer();
  });
  afterEach(async () => {
    await f.server.close();
  });

  it('runs `echo hi; exit 7`: stdout "hi" and NonZeroExitCode 7 on the error stream (v4)', async () => {
    const rc = await spdyRemoteCommand(execUrl(f, ['/bin/sh', '-c', 'echo hi; exit 7']), { stderr: true });
    expect(rc.protocol).to.equal('v4.channel.k8s.io');
    expect((await rc.stdout).toString()).to.equal('hi\n');
    const status = JSON.parse(await rc.error);
    expect(status).to.deep.equal({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 7',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
  });

  it('reports Success for exit 0 and keeps stderr apart without tty', async () => {
    const rc = await spdyRemoteCommand(execUrl(f, ['/bin/sh', '-c', 'echo out; echo err >&2']), { stderr: true });
    expect((await rc.stdout).toString()).to.equal('out\n');
    expect((await rc.stderr).toString()).to.equal('err\n');
    expect(JSON.parse(await rc.error)).to.deep.equal({ metadata: {}, status: 'Success' });
  });

  it('carries stdin through `cat` and ends it on the client half-close', async () => {
    const rc = await spdyRemoteCommand(execUrl(f, ['/bin/cat'], { stdin: true }), { stdin: true, stderr: true });
    rc.stdin?.write('hello ');
    rc.stdin?.end('berth\n');
    expect((await rc.stdout).toString()).to.equal('hello berth\n');
    expect(JSON.parse(await rc.error).status).to.equal('Success');
  });

  it('merges stderr into stdout under tty and delivers resize messages to the backend', async () => {
    const rc = await spdyRemoteCommand(execUrl(f, ['/bin/sh', '-c', 'read x; echo out; echo err >&2'], { tty: true, stdin: true }), { tty: true, stdin: true });
    expect(rc.resize, 'resize stream').to.not.equal(undefined);
    rc.sendResize(80, 24);
    rc.sendResize(132, 43);
    // Wait until both sizes arrived before letting the command finish.
    const deadline = Date.now() + 5000;
    while (f.exec.resizes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    rc.stdin?.end('go\n');
    const out = (await rc.stdout).toString();
    expect(out).to.contain('out\n').and.to.contain('err\n');
    expect(f.exec.resizes).to.deep.equal([
      { width: 80, height: 24 },
      { width: 132, height: 43 },
    ]);
  });

  it('writes the failure as plain text on v2 and nothing on success', async () => {
    const failing = await spdyRemoteCommand(execUrl(f, ['/bin/sh', '-c', 'exit 3']), { protocols: ['v2.channel.k8s.io'], stderr: true });
    expect(failing.protocol).to.equal('v2.channel.k8s.io');
    expect(await failing.error).to.equal('command terminated with non-zero exit code: exit status 3');
    const ok = await spdyRemoteCommand(execUrl(f, ['/bin/true']), { protocols: ['v2.channel.k8s.io'], stderr: true });
    expect(await ok.error).to.equal('');
  });

  it('kills the process when the client goes away', async () => {
    const rc = await spdyRemoteCommand(execUrl(f, ['/bin/sh', '-c', 'echo $$; exec sleep 30']), { stderr: true });
    const pid = await new Promise<number>((resolve) => {
      let text = '';
      rc.stdoutStream?.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) resolve(Number(text.split('\n')[0]));
      });
    });
    expect(processAlive(pid)).to.equal(true);
    rc.session.destroy();
    const deadline = Date.now() + 5000;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(processAlive(pid)).to.equal(false);
  });

  it('refuses a protocol it does not speak with 403', async () => {
    const url = execUrl(f, ['/bin/true']);
    const err = await connectSpdy(url, ['v9.channel.k8s.io']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(UpgradeRefusedError);
    expect((err as UpgradeRefusedError).statusCode).to.equal(403);
  });
});
