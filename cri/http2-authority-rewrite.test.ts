import { expect } from 'chai';
import { HeaderBlockRewriter, isValidAuthority, replacementFor } from './header-block-rewrite';
import { encodeInteger, HpackError, huffmanEncode } from './hpack';
import { AuthorityRewriter, encodeHeaderFrames, Http2FramingError } from './http2-authority-rewrite';
import { http2Frame } from './testing/frame-fixtures';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const SOCK = '/run/berth/berth.sock';

/** A string literal, raw or Huffman. */
function str(value: string, huffman = false): Buffer {
  const bytes = huffman ? huffmanEncode(Buffer.from(value, 'latin1')) : Buffer.from(value, 'latin1');
  return Buffer.concat([encodeInteger(bytes.length, 7, huffman ? 0x80 : 0), bytes]);
}
/** Literal with incremental indexing, name by index. */
const litIdx = (nameIndex: number, value: string, huffman = false) => Buffer.concat([encodeInteger(nameIndex, 6, 0x40), str(value, huffman)]);
/** Literal with incremental indexing, new name. */
const litNew = (name: string, value: string, huffman = false) => Buffer.concat([Buffer.from([0x40]), str(name, huffman), str(value, huffman)]);
/** Literal without indexing, name by index. */
const litNoIdx = (nameIndex: number, value: string) => Buffer.concat([encodeInteger(nameIndex, 4, 0x00), str(value)]);
/** Literal never indexed, name by index. */
const litNever = (nameIndex: number, value: string) => Buffer.concat([encodeInteger(nameIndex, 4, 0x10), str(value)]);
/** Indexed header field. */
const indexed = (index: number) => encodeInteger(index, 7, 0x80);

/** The request headers of a gRPC call (POST, http, path) around a given authority field. */
function grpcBlock(authority: Buffer): Buffer {
  return Buffer.concat([indexed(3), indexed(6), litIdx(4, '/runtime.v1.RuntimeService/Version'), authority, litNew('content-type', 'application/grpc'), litNew('te', 'trailers')]);
}

const SETTINGS = http2Frame(0x4, 0, 0, Buffer.alloc(0));

/** Splits forwarded bytes (after the preface) into frames. */
function parseFrames(bytes: Buffer): Array<{ type: number; flags: number; streamId: number; payload: Buffer }> {
  const frames = [];
  let pos = 0;
  while (pos < bytes.length) {
    const length = bytes.readUIntBE(pos, 3);
    frames.push({ type: bytes[pos + 3], flags: bytes[pos + 4], streamId: bytes.readUInt32BE(pos + 5), payload: bytes.subarray(pos + 9, pos + 9 + length) });
    pos += 9 + length;
  }
  expect(pos).to.equal(bytes.length);
  return frames;
}

describe('cri/http2-authority-rewrite', () => {
  describe('authority validity', () => {
    it('accepts host names, ports and IP literals, rejects paths', () => {
      expect(isValidAuthority('localhost')).to.equal(true);
      expect(isValidAuthority('127.0.0.1:10250')).to.equal(true);
      expect(isValidAuthority('[::1]:80')).to.equal(true);
      expect(isValidAuthority(SOCK)).to.equal(false);
      expect(isValidAuthority('unix:///run/x.sock')).to.equal(false);
    });
    it('never makes the table entry larger than the original', () => {
      expect(replacementFor(21)).to.equal('localhost');
      expect(replacementFor(3)).to.equal('loc');
    });
  });

  describe('HeaderBlockRewriter', () => {
    const cases: Array<[string, Buffer, Buffer]> = [
      ['incremental, static name, raw value', litIdx(1, SOCK), litIdx(1, 'localhost')],
      ['incremental, static name, Huffman value', litIdx(1, SOCK, true), litIdx(1, 'localhost')],
      ['incremental, literal name', litNew(':authority', SOCK), litIdx(1, 'localhost')],
      ['incremental, Huffman literal name and value', litNew(':authority', SOCK, true), litIdx(1, 'localhost')],
      ['without indexing', litNoIdx(1, SOCK), litNoIdx(1, 'localhost')],
      ['never indexed', litNever(1, SOCK), litNever(1, 'localhost')],
    ];
    for (const [name, authority, expected] of cases) {
      it(`rewrites a socket-path :authority (${name})`, () => {
        const r = new HeaderBlockRewriter();
        const out = r.rewrite(grpcBlock(authority));
        expect(out.rewritten).to.equal(1);
        expect(out.block.equals(grpcBlock(expected))).to.equal(true);
      });
    }

    it('leaves a valid authority byte for byte', () => {
      const block = grpcBlock(litIdx(1, 'localhost', true));
      const out = new HeaderBlockRewriter().rewrite(block);
      expect(out.rewritten).to.equal(0);
      expect(out.block).to.equal(block);
    });

    it('keeps later indexed references valid and rewrites literals naming a dynamic :authority entry', () => {
      const r = new HeaderBlockRewriter();
      r.rewrite(grpcBlock(litIdx(1, SOCK)));
      // Table now (newest first): te(62), content-type(63), :authority(64), :path(65).
      const second = Buffer.concat([indexed(3), indexed(65), indexed(64), indexed(63), indexed(62)]);
      const out2 = r.rewrite(second);
      expect(out2.rewritten).to.equal(0);
      expect(out2.block).to.equal(second);
      // A literal whose name comes from the dynamic :authority entry (index 64) is rewritten too,
      // with the name re-pointed at the static table.
      const third = Buffer.concat([indexed(3), litNoIdx(64, '/other.sock')]);
      const out3 = r.rewrite(third);
      expect(out3.rewritten).to.equal(1);
      expect(out3.block.equals(Buffer.concat([indexed(3), litNoIdx(1, 'localhost')]))).to.equal(true);
    });

    it('follows dynamic table size updates', () => {
      const r = new HeaderBlockRewriter();
      r.rewrite(litIdx(1, SOCK));
      // Size update to 0 flushes the table; index 62 is then invalid.
      expect(() => r.rewrite(Buffer.concat([encodeInteger(0, 5, 0x20), litNoIdx(62, 'x')]))).to.throw(HpackError);
    });

    it('refuses a dynamic table size update above the 4096 bytes the server allows (the tracked names stay bounded)', () => {
      const r = new HeaderBlockRewriter();
      r.rewrite(encodeInteger(4096, 5, 0x20));
      expect(() => r.rewrite(encodeInteger(4097, 5, 0x20))).to.throw(HpackError, /exceeds 4096/);
      expect(() => new HeaderBlockRewriter().rewrite(encodeInteger(0xffffffff, 5, 0x20))).to.throw(HpackError);
    });

    it('rejects a block that ends inside a representation', () => {
      const block = litIdx(1, SOCK);
      expect(() => new HeaderBlockRewriter().rewrite(block.subarray(0, block.length - 3))).to.throw(HpackError);
    });
  });

  describe('AuthorityRewriter (frames)', () => {
    it('rewrites the authority in a HEADERS frame and passes preface, SETTINGS and DATA through', () => {
      const w = new AuthorityRewriter();
      const data = http2Frame(0x0, 0x1, 1, Buffer.from('00000000020a00', 'hex'));
      const input = Buffer.concat([PREFACE, SETTINGS, http2Frame(0x1, 0x4, 1, grpcBlock(litIdx(1, SOCK, true))), data]);
      const out = w.push(input);
      expect(out.subarray(0, PREFACE.length).equals(PREFACE)).to.equal(true);
      const frames = parseFrames(out.subarray(PREFACE.length));
      expect(frames.map((f) => f.type)).to.deep.equal([0x4, 0x1, 0x0]);
      expect(frames[1].flags).to.equal(0x4);
      expect(frames[1].payload.equals(grpcBlock(litIdx(1, 'localhost')))).to.equal(true);
      expect(frames[2].payload.equals(data.subarray(9))).to.equal(true);
      expect(w.rewrittenCount).to.equal(1);
    });

    it('handles input split at every byte boundary', () => {
      const input = Buffer.concat([PREFACE, SETTINGS, http2Frame(0x1, 0x5, 3, grpcBlock(litIdx(1, SOCK)))]);
      const w = new AuthorityRewriter();
      const chunks = [];
      for (const b of input) chunks.push(w.push(Buffer.from([b])));
      const frames = parseFrames(Buffer.concat(chunks).subarray(PREFACE.length));
      expect(frames[1]).to.include({ type: 0x1, flags: 0x5, streamId: 3 });
      expect(frames[1].payload.equals(grpcBlock(litIdx(1, 'localhost')))).to.equal(true);
    });

    it('strips padding, keeps priority fields and END_STREAM', () => {
      const block = grpcBlock(litIdx(1, SOCK));
      const priority = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x0f]);
      const payload = Buffer.concat([Buffer.from([4]), priority, block, Buffer.alloc(4)]);
      const out = new AuthorityRewriter().push(Buffer.concat([PREFACE, http2Frame(0x1, 0x4 | 0x8 | 0x20 | 0x1, 5, payload)]));
      const [f] = parseFrames(out.subarray(PREFACE.length));
      expect(f.flags).to.equal(0x4 | 0x20 | 0x1);
      expect(f.payload.subarray(0, 5).equals(priority)).to.equal(true);
      expect(f.payload.subarray(5).equals(grpcBlock(litIdx(1, 'localhost')))).to.equal(true);
    });

    it('joins CONTINUATION frames, with the authority split across them', () => {
      const block = grpcBlock(litIdx(1, SOCK));
      const cut = block.indexOf(Buffer.from('berth.sock'));
      const input = Buffer.concat([
        PREFACE,
        http2Frame(0x1, 0x1, 7, block.subarray(0, cut)),
        http2Frame(0x9, 0x0, 7, block.subarray(cut, cut + 3)),
        http2Frame(0x9, 0x4, 7, block.subarray(cut + 3)),
      ]);
      const frames = parseFrames(new AuthorityRewriter().push(input).subarray(PREFACE.length));
      expect(frames).to.have.length(1);
      expect(frames[0]).to.include({ type: 0x1, flags: 0x5, streamId: 7 });
      expect(frames[0].payload.equals(grpcBlock(litIdx(1, 'localhost')))).to.equal(true);
    });

    it('forwards an untouched single HEADERS frame unchanged, padding included', () => {
      const payload = Buffer.concat([Buffer.from([2]), grpcBlock(litIdx(1, 'localhost')), Buffer.alloc(2)]);
      const input = Buffer.concat([PREFACE, http2Frame(0x1, 0x4 | 0x8, 1, payload)]);
      expect(new AuthorityRewriter().push(input).equals(input)).to.equal(true);
    });

    it('streams large DATA frames through without waiting for the whole frame', () => {
      const w = new AuthorityRewriter();
      w.push(PREFACE);
      const big = http2Frame(0x0, 0, 1, Buffer.alloc(50000, 7));
      const first = w.push(big.subarray(0, 1000));
      expect(first.length).to.equal(1000);
      const rest = w.push(big.subarray(1000));
      expect(Buffer.concat([first, rest]).equals(big)).to.equal(true);
    });

    it('re-frames a grown block into 16 KiB frames', () => {
      const block = Buffer.alloc(40000, 0x82);
      const frames = parseFrames(encodeHeaderFrames(9, 1, undefined, block));
      expect(frames.map((f) => [f.type, f.flags, f.payload.length])).to.deep.equal([
        [0x1, 0x1, 16384],
        [0x9, 0x0, 16384],
        [0x9, 0x4, 40000 - 32768],
      ]);
    });

    it('rejects a frame of another stream inside an open header block', () => {
      const w = new AuthorityRewriter();
      const input = Buffer.concat([PREFACE, http2Frame(0x1, 0x0, 1, litIdx(1, SOCK)), http2Frame(0x0, 0x0, 1, Buffer.alloc(1))]);
      expect(() => w.push(input)).to.throw(Http2FramingError);
    });

    it('passes non-HTTP/2 bytes through for the server to reject', () => {
      const input = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(new AuthorityRewriter().push(input).equals(input)).to.equal(true);
    });
  });

  describe('AuthorityRewriter bounds (hostile client)', () => {
    it('refuses a HEADERS frame announcing 16 MiB at its 9-byte header, before buffering any of it', () => {
      const w = new AuthorityRewriter();
      const head = Buffer.alloc(9);
      head.writeUIntBE(0xffffff, 0, 3);
      head[3] = 0x1;
      head.writeUInt32BE(1, 5);
      expect(() => w.push(Buffer.concat([PREFACE, SETTINGS, head]))).to.throw(Http2FramingError, /header block too large/);
    });

    it('refuses CONTINUATIONs once the joined block passes 1 MiB', () => {
      const w = new AuthorityRewriter();
      w.push(Buffer.concat([PREFACE, http2Frame(0x1, 0, 1, Buffer.alloc(16384, 0x82))]));
      const cont = http2Frame(0x9, 0, 1, Buffer.alloc(16384, 0x82));
      let err: unknown;
      let sent = 0;
      for (let i = 0; i < 100 && !err; i++) {
        try {
          w.push(cont);
          sent += cont.length;
        } catch (e) {
          err = e;
        }
      }
      expect(err).to.be.instanceOf(Http2FramingError);
      expect(sent).to.be.lessThan(1024 * 1024);
    });

    it('joins a 1 MiB HEADERS frame fed in 1 KiB chunks in linear time', () => {
      const w = new AuthorityRewriter();
      w.push(PREFACE);
      // Just under 1 MiB: one :path literal (cheap to parse, so the time is the joining).
      const big = http2Frame(0x1, 0x4 | 0x1, 1, litNoIdx(4, 'p'.repeat(1024 * 1024 - 32)));
      // CPU time of this process: other work on a loaded CI machine does not count.
      const started = process.cpuUsage();
      let out = 0;
      for (let off = 0; off < big.length; off += 1024) out += w.push(big.subarray(off, off + 1024)).length;
      const used = process.cpuUsage(started);
      const ms = (used.user + used.system) / 1000;
      expect(out).to.equal(big.length);
      // Joining the held bytes on every chunk copied ~512 MiB here (~150 ms, quadratic); once is ~1 MiB.
      expect(ms, `${ms.toFixed(1)} ms`).to.be.lessThan(60);
    });
  });
});
