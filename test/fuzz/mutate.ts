/**
 * Byte-level mutations of seed inputs, as fast-check arbitraries: the runner's stand-in for a
 * coverage-guided mutator. Each input is a seed with a few edits (bit flips, interesting values,
 * inserted/deleted/duplicated ranges, splices of two seeds, truncation), so structured formats get
 * past their first checks and reach deeper code.
 */
import fc, { type Arbitrary } from 'fast-check';

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'truncate'; at: number };

/** Values that tend to hit edge cases in lengths, counts and signedness. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x2f, 0x2e, 0x30, 0x39, 0x0a, 0x3a];

const position = fc.nat({ max: 0xffff });

const edit: Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: position, value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: position, length: fc.integer({ min: 1, max: 512 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
);

/** Applies one edit; positions wrap around the input's length. */
function applyEdit(input: Uint8Array, e: Edit): Uint8Array {
  const n = input.length;
  const at = n === 0 ? 0 : e.at % (n + 1);
  switch (e.kind) {
    case 'flip':
    case 'set': {
      if (n === 0) return input;
      const out = Uint8Array.from(input);
      const i = e.at % n;
      out[i] = e.kind === 'flip' ? out[i] ^ (1 << e.bit) : e.value;
      return out;
    }
    case 'insert':
      return concat(input.subarray(0, at), e.bytes, input.subarray(at));
    case 'delete':
      return concat(input.subarray(0, at), input.subarray(Math.min(n, at + e.length)));
    case 'duplicate':
      return concat(input.subarray(0, at), input.subarray(at, Math.min(n, at + e.length)), input.subarray(at));
    case 'truncate':
      return input.subarray(0, at);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Seeds with 1 to 8 edits each, and splices of two seeds (head of one, tail of another). */
export function mutatedSeeds(seeds: readonly Uint8Array[]): Arbitrary<Uint8Array> {
  if (seeds.length === 0) return fc.uint8Array({ maxLength: 1024 });
  const seed = fc.constantFrom(...seeds);
  const edited = fc.tuple(seed, fc.array(edit, { minLength: 1, maxLength: 8 })).map(([s, edits]) => edits.reduce(applyEdit, s));
  const spliced = fc
    .tuple(seed, seed, position, position)
    .map(([a, b, i, j]) => concat(a.subarray(0, a.length === 0 ? 0 : i % (a.length + 1)), b.subarray(b.length === 0 ? 0 : j % (b.length + 1))));
  return fc.oneof({ arbitrary: edited, weight: 4 }, { arbitrary: spliced, weight: 1 });
}
