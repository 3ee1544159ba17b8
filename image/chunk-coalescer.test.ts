import { expect } from 'chai';
import { Readable } from 'node:stream';
import { ChunkCoalescer } from './chunk-coalescer';

async function through(chunks: Buffer[], minBytes: number): Promise<Buffer[]> {
  // 'data' events, not async iteration: read() would join whatever is buffered by itself.
  const out: Buffer[] = [];
  const stream = Readable.from(chunks).pipe(new ChunkCoalescer(minBytes));
  stream.on('data', (c: Buffer) => out.push(c));
  await new Promise((resolve) => stream.on('end', resolve));
  return out;
}

describe('image/chunk-coalescer', () => {
  it('joins small chunks up to the minimum and keeps every byte in order', async () => {
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(30, i));
    const out = await through(chunks, 100);
    expect(out.map((c) => c.length)).to.deep.equal([120, 120, 60]);
    expect(Buffer.concat(out).equals(Buffer.concat(chunks))).to.equal(true);
  });

  it('passes big chunks through without copying them', async () => {
    const big = Buffer.alloc(500, 7);
    const out = await through([big], 100);
    expect(out).to.have.length(1);
    expect(out[0]!.buffer).to.equal(big.buffer);
  });

  it('emits nothing for an empty stream', async () => {
    expect(await through([], 100)).to.deep.equal([]);
  });
});
