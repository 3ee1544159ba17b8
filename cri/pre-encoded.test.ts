import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { runtime } from './api/generated/cri';
import { afterReply, baseCodec, encodingOf, owned, preEncoded, withEncoding } from './pre-encoded';

describe('cri/pre-encoded', () => {
  const codec = preEncoded(runtime.v1.ImageStatusResponse);

  it('sends the attached encoding of a message as is, and encodes any other message', () => {
    const plain = { image: { id: 'sha256:a', repoTags: ['a:1'] } };
    expect(Buffer.from(codec.encode(plain).finish()).equals(Buffer.from(runtime.v1.ImageStatusResponse.encode(plain).finish()))).to.equal(true);
    const attached = new Uint8Array([10, 0]);
    const message = withEncoding({ image: { id: 'ignored' } }, attached);
    expect(codec.encode(message).finish()).to.equal(attached);
    expect(encodingOf(message)).to.equal(attached);
    expect(encodingOf(plain)).to.equal(undefined);
    expect(encodingOf(null)).to.equal(undefined);
  });

  it('decodes like the generated codec and names it as its base', () => {
    const bytes = runtime.v1.ImageStatusResponse.encode({ image: { id: 'sha256:b', size: 5 } }).finish();
    expect(codec.decode(bytes).image).to.include({ id: 'sha256:b', size: 5 });
    expect(baseCodec(codec)).to.equal(runtime.v1.ImageStatusResponse);
    expect(baseCodec(runtime.v1.VersionResponse)).to.equal(runtime.v1.VersionResponse);
  });

  it('owned copies a pool slice into memory of its own', () => {
    const slice = Buffer.from('status bytes');
    expect(slice.buffer.byteLength).to.be.greaterThan(slice.length); // a slice of the shared pool
    const own = owned(slice);
    expect(Buffer.from(own).equals(slice)).to.equal(true);
    expect([own.byteOffset, own.buffer.byteLength]).to.deep.equal([0, slice.length]);
  });

  it('afterReply work does not hold back the reply of a grpc-js unary call (a client in another process sees it first)', async () => {
    const identity = (b: Buffer) => b;
    const def = { Echo: { path: '/t.T/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } };
    const server = new grpc.Server();
    server.addService(def, {
      Echo: (_call: unknown, reply: (err: null, res: Buffer) => void) => {
        // As a handler that changed a state: the status work is queued before the reply.
        afterReply(() => {
          const until = Date.now() + 800;
          while (Date.now() < until); // stands in for preparing the next answer
        });
        reply(null, Buffer.from('y'));
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const client = `
      const grpc = require(${JSON.stringify(require.resolve('@grpc/grpc-js'))});
      const id = (b) => b;
      const C = grpc.makeGenericClientConstructor({ Echo: { path: '/t.T/Echo', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } }, 'T');
      const c = new C('127.0.0.1:${port}', grpc.credentials.createInsecure());
      const one = (left, worst) => { const t = process.hrtime.bigint(); c.Echo(Buffer.from('x'), (err) => {
        if (err) throw err;
        worst = Math.max(worst, Number(process.hrtime.bigint() - t) / 1e6);
        if (left > 1) setTimeout(() => one(left - 1, worst), 850); else { console.log(worst); c.close(); }
      }); };
      c.waitForReady(Date.now() + 5000, () => one(2, 0));`;
    try {
      const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', client], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
      expect(Number(out.trim()), 'slowest reply (ms)').to.be.below(500);
    } finally {
      server.forceShutdown();
    }
  });
});
