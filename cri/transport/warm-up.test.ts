import { expect } from 'chai';
import type { StreamAcceptor } from './connection';
import { trailersOnly } from './hpack-encoder';
import { DEFAULT_LIMITS } from './limits';
import { warmUp } from './warm-up';

/** An acceptor that records each request's headers and message and answers OK at once. */
function recordingAcceptor() {
  const calls: Array<{ headers: Array<readonly [string, string]>; message: Buffer }> = [];
  const acceptor: StreamAcceptor = {
    openStream(stream, headers) {
      const chunks: Buffer[] = [];
      return {
        onData(chunk, end) {
          chunks.push(chunk);
          if (!end) return;
          calls.push({ headers: headers.fields, message: Buffer.concat(chunks).subarray(5) });
          // Answered on a later turn, as an async handler does.
          setImmediate(() => {
            stream.sendHeaders(trailersOnly(0, ''), true);
            stream.flush();
          });
        },
        onReset() {},
        onDrain() {},
      };
    },
  };
  return { acceptor, calls };
}

describe('cri/transport/warm-up', () => {
  it('sends the requests in turn, framed like a gRPC client (table indexed once, then referenced), and counts the answers', async () => {
    const { acceptor, calls } = recordingAcceptor();
    const requests = [
      { path: '/runtime.v1.RuntimeService/Version', message: Buffer.from([0x0a, 0x02, 0x76, 0x31]) },
      { path: '/runtime.v1.RuntimeService/Status', message: Buffer.alloc(0) },
    ];
    expect(await warmUp(acceptor, DEFAULT_LIMITS, requests, 3)).to.equal(6);
    expect(calls.map((c) => c.headers.find(([n]) => n === ':path')?.[1])).to.deep.equal([0, 1, 2].flatMap(() => requests.map((r) => r.path)));
    for (const [i, call] of calls.entries()) {
      expect(call.headers.filter(([n]) => n !== ':path')).to.deep.equal([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':authority', 'localhost'],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ]);
      expect(call.message).to.deep.equal(requests[i % 2].message);
    }
  });

  it('fails when the request path fails, and closes its connection', async () => {
    const acceptor: StreamAcceptor = {
      openStream() {
        throw new Error('route exploded');
      },
    };
    let caught: unknown;
    await warmUp(acceptor, DEFAULT_LIMITS, [{ path: '/x/Y', message: Buffer.alloc(0) }], 2).catch((err: unknown) => (caught = err));
    expect(String(caught)).to.match(/route exploded/);
  });
});
