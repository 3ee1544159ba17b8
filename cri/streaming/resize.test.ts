import { expect } from 'chai';
import { MAX_QUEUED_SIZES, MAX_RESIZE_MESSAGE_BYTES, parseSize, ResizeDecoder, ResizeQueue } from './resize';
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

  const tenMiB = 10 * 1024 * 1024;
  const hostileStreams: Array<[string, Buffer]> = [
    ['an object that never closes', Buffer.concat([Buffer.from('{"Width":'), Buffer.alloc(tenMiB, '1')])],
    ['nested braces', Buffer.alloc(tenMiB, '{')],
    ['a string that never closes', Buffer.concat([Buffer.from('{"'), Buffer.alloc(tenMiB, 'x')])],
    ['garbage without any brace', Buffer.alloc(tenMiB, 'z')],
  ];
  for (const [what, bytes] of hostileStreams) {
    it(`scans 10 MiB of ${what} in 1 KiB chunks in linear time, holding at most ${MAX_RESIZE_MESSAGE_BYTES} bytes`, () => {
      let oversized = 0;
      const sizes: TerminalSize[] = [];
      const d = new ResizeDecoder((s) => sizes.push(s), () => oversized++);
      let maxHeld = 0;
      // CPU time of this process, not wall time: other work on a loaded CI machine does not count.
      const started = process.cpuUsage();
      for (let off = 0; off < bytes.length; off += 1024) {
        d.push(bytes.subarray(off, off + 1024));
        maxHeld = Math.max(maxHeld, d.bufferedBytes);
      }
      const used = process.cpuUsage(started);
      const ms = (used.user + used.system) / 1000;
      expect(maxHeld).to.be.at.most(MAX_RESIZE_MESSAGE_BYTES);
      // A single pass over 10 MiB takes ~20-40 ms of CPU here; re-scanning a growing buffer took 2.5-4 s.
      expect(ms, `${ms.toFixed(1)} ms of CPU`).to.be.lessThan(1000);
      expect(sizes).to.deep.equal([]);
      // An unfinished object is dropped once it passes the limit: the channel works again after it.
      d.push(Buffer.alloc(MAX_RESIZE_MESSAGE_BYTES, ' '));
      d.push('{"Width":7,"Height":9}');
      if (what !== 'garbage without any brace') expect(oversized).to.be.greaterThan(0);
      expect(sizes.at(-1)).to.deep.equal({ width: 7, height: 9 });
    });
  }

  it('decodes sizes split inside multi-byte characters of an unknown field', () => {
    const sizes: TerminalSize[] = [];
    const d = new ResizeDecoder((s) => sizes.push(s));
    const bytes = Buffer.from('{"note":"größe","Width":3,"Height":4}');
    for (let i = 0; i < bytes.length; i++) d.push(bytes.subarray(i, i + 1));
    expect(sizes).to.deep.equal([{ width: 3, height: 4 }]);
  });

  it(`keeps at most ${MAX_QUEUED_SIZES} sizes for a consumer that does not read, the newest`, async () => {
    const q = new ResizeQueue();
    for (let i = 1; i <= 100_000; i++) q.push({ width: i, height: i });
    expect(q.length).to.equal(MAX_QUEUED_SIZES);
    q.end();
    const got: TerminalSize[] = [];
    for await (const s of q) got.push(s);
    expect(got.at(-1)).to.deep.equal({ width: 100_000, height: 100_000 });
    expect(got[0]).to.deep.equal({ width: 100_000 - MAX_QUEUED_SIZES + 1, height: 100_000 - MAX_QUEUED_SIZES + 1 });
  });
});
