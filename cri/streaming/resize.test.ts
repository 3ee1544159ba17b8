import { expect } from 'chai';
import { parseSize, ResizeDecoder, ResizeQueue } from './resize';
import type { TerminalSize } from './backends';

describe('streaming/resize', () => {
  it('splits JSON objects across arbitrary chunk boundaries', () => {
    const sizes: TerminalSize[] = [];
    const d = new ResizeDecoder((s) => sizes.push(s));
    const text = '{"Width":80,"Height":24}\n{"Width":120,"Height":40}{"width":1,"height":2}';
    for (const ch of text) d.push(ch);
    expect(sizes).to.deep.equal([
      { width: 80, height: 24 },
      { width: 120, height: 40 },
      { width: 1, height: 2 },
    ]);
  });

  it('skips malformed or out-of-range sizes', () => {
    expect(parseSize('{"Width":-1,"Height":3}')).to.equal(undefined);
    expect(parseSize('{"Width":"80","Height":3}')).to.equal(undefined);
    expect(parseSize('{"Width":80}')).to.equal(undefined);
    const sizes: TerminalSize[] = [];
    const d = new ResizeDecoder((s) => sizes.push(s));
    d.push('{"Width":1e99,"Height":1}{"Width":"}","Height":2}{"Width":3,"Height":4}');
    expect(sizes).to.deep.equal([{ width: 3, height: 4 }]);
  });

  it('queues sizes for an async consumer and ends', async () => {
    const q = new ResizeQueue();
    q.push({ width: 1, height: 1 });
    setTimeout(() => {
      q.push({ width: 2, height: 2 });
      q.end();
    }, 5);
    const got: TerminalSize[] = [];
    for await (const s of q) got.push(s);
    expect(got).to.deep.equal([
      { width: 1, height: 1 },
      { width: 2, height: 2 },
    ]);
  });
});
