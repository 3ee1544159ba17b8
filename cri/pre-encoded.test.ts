import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../common/logger';
import { runtime } from './api/generated/cri';
import { afterReply, baseCodec, encodingOf, owned, preEncoded, withEncoding } from './pre-encoded';
import { createCriServer } from './server';

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

  it('afterReply work does not hold back the reply of the call that queued it (a client in another process sees it first)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-after-reply-'));
    const socketPath = path.join(dir, 'cri.sock');
    const server = createCriServer({
      logger: silentLogger,
      handlers: {
        Version: async () => {
          // As a handler that changed a state: the status work is queued before the reply.
          afterReply(() => {
            const until = Date.now() + 800;
            while (Date.now() < until); // stands in for preparing the next answer
          });
          return { version: '0.1.0', runtimeName: 'berth', runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' };
        },
      },
    });
    await server.listen(socketPath);
    const client = `
      const { createCriClient } = require(${JSON.stringify(path.join(__dirname, '..', 'test', 'support', 'cri-client.js'))});
      const c = createCriClient(${JSON.stringify(socketPath)});
      (async () => {
        let worst = 0;
        for (let i = 0; i < 2; i++) {
          const t = process.hrtime.bigint();
          await c.version({ version: 'v1' });
          worst = Math.max(worst, Number(process.hrtime.bigint() - t) / 1e6);
          await new Promise((r) => setTimeout(r, 850));
        }
        console.log(worst);
        c.close();
      })();`;
    try {
      const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', client], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
      expect(Number(out.trim()), 'slowest reply (ms)').to.be.below(500);
    } finally {
      await server.shutdown(0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
