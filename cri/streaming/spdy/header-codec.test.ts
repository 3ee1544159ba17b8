import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary';
import { HeaderCompressor, HeaderDecompressor, parseHeaderBlock, serializeHeaderBlock } from './header-codec';
import { SpdyProtocolError } from './frames';

describe('spdy/header-codec', () => {
  it('has the 1423-byte SPDY/3 dictionary with its well-known zlib id', () => {
    expect(SPDY3_DICTIONARY.length).to.equal(1423);
    expect(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1')).to.equal('\0\0\0\x07options');
    expect(SPDY3_DICTIONARY.subarray(-15).toString('latin1')).to.equal('1,utf-,*,enq=0.');
    // A deflate stream primed with the dictionary names it by Adler-32 in its header (RFC 1950).
    const compressed = zlib.deflateSync(Buffer.from('x'), { dictionary: SPDY3_DICTIONARY });
    expect(compressed[1] & 0x20, 'FDICT').to.equal(0x20);
    expect(compressed.readUInt32BE(2).toString(16)).to.equal('e3c6a7c2');
  });

  it('serialises name/value pairs with 32-bit lengths and NUL-joined values', () => {
    const raw = serializeHeaderBlock({ streamType: ['error'], port: ['80', '81'] });
    expect(raw.toString('hex')).to.equal(
      '00000002' + '0000000a' + Buffer.from('streamtype').toString('hex') + '00000005' + Buffer.from('error').toString('hex') +
        '00000004' + Buffer.from('port').toString('hex') + '00000005' + Buffer.from('80\x0081').toString('hex'),
    );
    expect(parseHeaderBlock(raw)).to.deep.equal({ streamtype: ['error'], port: ['80', '81'] });
  });

  it('rejects truncated blocks and upper-case names', () => {
    expect(() => parseHeaderBlock(Buffer.from('0000000100000005ab', 'hex'))).to.throw(SpdyProtocolError);
    const upper = Buffer.from('00000001' + '00000001' + '41' + '00000000', 'hex');
    expect(() => parseHeaderBlock(upper)).to.throw(SpdyProtocolError, /lower-case/);
  });

  it('keeps one compression context across blocks, decodable in order by a peer', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const blocks = await Promise.all([c.compress({ streamtype: ['error'] }), c.compress({ streamtype: ['stdout'] }), c.compress({ streamtype: ['stdout'], port: ['8080'] })]);
    // The second block refers back to the first (shared window), so it is smaller than a fresh one.
    const fresh = await new HeaderCompressor().compress({ streamtype: ['stdout'] });
    expect(blocks[1].length).to.be.lessThan(fresh.length);
    expect(await d.decompress(blocks[0])).to.deep.equal({ streamtype: ['error'] });
    expect(await d.decompress(blocks[1])).to.deep.equal({ streamtype: ['stdout'] });
    expect(await d.decompress(blocks[2])).to.deep.equal({ streamtype: ['stdout'], port: ['8080'] });
    c.close();
    d.close();
  });

  it('decodes a block compressed by an independent zlib stream primed with the dictionary', async () => {
    // What a Go/C peer sends: zlib with the dictionary, sync-flushed after the block.
    const deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY, level: 9 });
    const chunks: Buffer[] = [];
    deflate.on('data', (x: Buffer) => chunks.push(x));
    deflate.write(serializeHeaderBlock({ streamtype: ['data'], port: ['80'], requestid: ['0'] }));
    await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    const d = new HeaderDecompressor();
    expect(await d.decompress(Buffer.concat(chunks))).to.deep.equal({ streamtype: ['data'], port: ['80'], requestid: ['0'] });
    deflate.close();
    d.close();
  });

  it('parses a block repeating one name 29 000 times in linear time, and takes "__proto__" as a plain name', () => {
    const n = 29_000; // 261 KiB, just under the decoded-block limit
    const block = Buffer.alloc(4 + n * 9);
    block.writeUInt32BE(n, 0);
    for (let i = 0; i < n; i++) {
      block.writeUInt32BE(1, 4 + i * 9);
      block.write('a', 8 + i * 9);
      block.writeUInt32BE(0, 9 + i * 9);
    }
    const started = Date.now();
    expect(parseHeaderBlock(block).a).to.have.length(n);
    // Copying the value list on every repeat took 9.3 s here.
    expect(Date.now() - started).to.be.lessThan(200);
    const proto = parseHeaderBlock(serializeHeaderBlock({ ['__proto__']: ['x'], constructor: ['y'] }));
    expect(Object.entries(proto)).to.deep.equal([
      ['__proto__', ['x']],
      ['constructor', ['y']],
    ]);
  });

  it('fails on garbage instead of hanging', async () => {
    const d = new HeaderDecompressor();
    const err = await d.decompress(Buffer.from('not zlib at all')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(SpdyProtocolError);
    d.close();
  });

  it('stops inflating a 128 MiB header bomb at the limit: RSS high-water grows by < 32 MiB', async () => {
    // A fresh process, so its RSS high-water mark shows this decompression alone.
    const script = `
      const { HeaderDecompressor } = require(${JSON.stringify(path.join(__dirname, 'header-codec.js'))});
      const { bombBlock } = require(${JSON.stringify(path.join(__dirname, '../../testing/spdy-header-bomb.js'))});
      (async () => {
        const block = await bombBlock(128 * 1024 * 1024);
        global.gc();
        const before = process.resourceUsage().maxRSS;
        const started = Date.now();
        const d = new HeaderDecompressor();
        const error = await d.decompress(block).then(() => 'none', (e) => e.name + ': ' + e.message);
        d.close();
        const after = process.resourceUsage().maxRSS;
        console.log(JSON.stringify({ compressed: block.length, beforeKiB: before, afterKiB: after, ms: Date.now() - started, error }));
      })();`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', '-e', script], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve(stdout))),
    );
    const r = JSON.parse(out) as { compressed: number; beforeKiB: number; afterKiB: number; ms: number; error: string };
    expect(r.compressed, 'the bomb is small').to.be.lessThan(200 * 1024);
    expect(r.error).to.match(/SpdyProtocolError: header block exceeds 262144 bytes/);
    expect((r.afterKiB - r.beforeKiB) / 1024, `RSS high-water grew ${((r.afterKiB - r.beforeKiB) / 1024).toFixed(1)} MiB`).to.be.lessThan(32);
  });
});
