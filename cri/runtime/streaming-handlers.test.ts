import { expect } from 'chai';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import { rejection } from '../../common/testing/rejection-fixtures';
import type { CallContext } from '../handlers';
import { streamingHandlers, type StreamingUrlSource } from './streaming-handlers';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

function recordingUrls(): StreamingUrlSource & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    getExecUrl: (r) => (calls.push({ exec: r }), 'http://127.0.0.1:1/exec/t'),
    getAttachUrl: (r) => (calls.push({ attach: r }), 'http://127.0.0.1:1/attach/t'),
    getPortForwardUrl: (r) => (calls.push({ portforward: r }), 'http://127.0.0.1:1/portforward/t'),
  };
}

describe('cri/runtime streaming handlers', () => {
  it('Exec returns the streaming URL for a valid request and passes the flags on', async () => {
    const urls = recordingUrls();
    const h = streamingHandlers({ urls });
    const res = await h.Exec!({ containerId: 'c1', cmd: ['sh', '-c', 'true'], tty: true, stdin: true, stdout: true, stderr: false }, call);
    expect(res.url).to.equal('http://127.0.0.1:1/exec/t');
    expect(urls.calls).to.deep.equal([{ exec: { containerId: 'c1', cmd: ['sh', '-c', 'true'], tty: true, stdin: true, stdout: true, stderr: false } }]);
  });

  it('Exec refuses a missing id or cmd, tty with stderr, and no streams at all', async () => {
    const h = streamingHandlers({ urls: recordingUrls() });
    expect(await rejection(h.Exec!({ cmd: ['x'], stdout: true }, call))).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(h.Exec!({ containerId: 'c', cmd: [], stdout: true }, call))).to.be.instanceOf(InvalidArgumentError);
    const tty = await rejection(h.Exec!({ containerId: 'c', cmd: ['x'], tty: true, stderr: true }, call));
    expect(tty).to.be.instanceOf(InvalidArgumentError).with.property('message', 'tty and stderr cannot both be true');
    const none = await rejection(h.Exec!({ containerId: 'c', cmd: ['x'] }, call));
    expect(none).to.be.instanceOf(InvalidArgumentError).with.property('message', 'one of stdin, stdout, or stderr must be set');
  });

  it('Attach and Exec ask the container layer first and surface its typed error', async () => {
    const urls = recordingUrls();
    const h = streamingHandlers({
      urls,
      targets: {
        checkContainerRunning: (id) => {
          if (id === 'gone') throw new NotFoundError(`container ${id} not found`);
          if (id === 'stopped') throw new FailedPreconditionError(`container ${id} is not running`);
        },
      },
    });
    expect(await rejection(h.Attach!({ containerId: 'gone', stdout: true }, call))).to.be.instanceOf(NotFoundError);
    expect(await rejection(h.Exec!({ containerId: 'stopped', cmd: ['x'], stdout: true }, call))).to.be.instanceOf(FailedPreconditionError);
    expect((await h.Attach!({ containerId: 'ok', stdin: true, stdout: true, tty: true }, call)).url).to.contain('/attach/');
    expect(urls.calls).to.have.length(1);
  });

  it('PortForward validates the sandbox id and ports', async () => {
    const urls = recordingUrls();
    const h = streamingHandlers({ urls, targets: { checkSandboxReady: (id) => { if (id !== 'p1') throw new NotFoundError(`pod ${id}`); } } });
    expect(await rejection(h.PortForward!({ port: [80] }, call))).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(h.PortForward!({ podSandboxId: 'p1', port: [0] }, call))).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(h.PortForward!({ podSandboxId: 'p1', port: [70000] }, call))).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(h.PortForward!({ podSandboxId: 'p2', port: [80] }, call))).to.be.instanceOf(NotFoundError);
    expect((await h.PortForward!({ podSandboxId: 'p1', port: [80, 443] }, call)).url).to.contain('/portforward/');
    expect(urls.calls).to.deep.equal([{ portforward: { podSandboxId: 'p1', ports: [80, 443] } }]);
  });
});
