/**
 * Protobuf wire pieces for answers assembled from cached encodings (length-delimited fields and
 * varints, byte for byte as protobufjs writes them): copying cached bytes beats encoding again.
 */
import { RuntimeError } from '../../common/errors';

/** A message holding only `bytes` as length-delimited field `tag` (tag = field number << 3 | 2), in memory of its own (it is kept). */
export function singleField(tag: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + varintSize(bytes.length, 0) + bytes.length);
  return filled(out, putField(out, 0, tag, bytes));
}

/** `out`, after checking that writing it ended at its last byte (an unzeroed buffer must not carry stale memory out). */
export function filled(out: Uint8Array, end: number): Uint8Array {
  if (end !== out.length) throw new RuntimeError(`assemble protobuf answer: wrote ${end} of ${out.length} bytes`);
  return out;
}

/** Writes tag, length and bytes at `pos`; returns the position after them. */
export function putField(out: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  out[pos++] = tag;
  pos = putVarint(out, pos, bytes.length, 0);
  out.set(bytes, pos);
  return pos + bytes.length;
}

/** The low and high 32 bits of an int64 held in a JS number, as protobufjs takes them (LongBits.fromNumber: two's complement for negatives). */
export function int64Bits(value: number): [number, number] {
  const abs = value < 0 ? -value : value;
  let lo = abs >>> 0;
  let hi = ((abs - lo) / 4294967296) >>> 0;
  if (value < 0) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
    if (++lo > 4294967295) {
      lo = 0;
      if (++hi > 4294967295) hi = 0;
    }
  }
  return [lo, hi];
}

export function varintSize(lo: number, hi: number): number {
  let n = 1;
  for (; hi; n++) {
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  for (; lo > 0x7f; n++) lo >>>= 7;
  return n;
}

/** Writes the varint of (hi << 32 | lo) at `pos` (protobufjs' writeVarint64); returns the position after it. */
export function putVarint(out: Uint8Array, pos: number, lo: number, hi: number): number {
  while (hi) {
    out[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 0x7f) {
    out[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  out[pos++] = lo;
  return pos;
}
