/**
 * Fuzz target: the image reference parser (image/reference.ts) over arbitrary strings. Bad input
 * must be an InvalidArgumentError; a parsed reference must format and parse back to itself; and
 * no input may take long (regex backtracking): inputs up to 100 000 characters, each bounded.
 */
import fc from 'fast-check';
import { InvalidArgumentError } from '../../../common/errors';
import { formatReference, parseReference, withDomain } from '../../../image/reference';
import type { FuzzTarget } from '../target';

/**
 * Longest one parse may take; the parser refuses long input before any regex. Generous for a
 * loaded 2-core CI machine (a GC pause), yet far below what backtracking on 100 000 characters costs.
 */
const PARSE_BUDGET_MS = 250;

const seedStrings = [
  'busybox',
  'library/busybox:1.36',
  'docker.io/library/busybox:latest',
  'index.docker.io/foo/bar',
  'registry.k8s.io/pause:3.9',
  'localhost:5000/a/b/c:v1',
  '[::1]:5000/app@sha256:' + 'a'.repeat(64),
  'quay.io/org/app:tag@sha256:' + 'b'.repeat(64),
  'example.com/a__b/c-d/e.f:T_1.2-3',
  'UPPER/case',
  'a'.repeat(300),
  'reg.example.com/' + 'a-'.repeat(2000) + 'a',
  'a.' + 'a'.repeat(4000) + '!/x',
];

function check(input: string): void {
  const started = performance.now();
  let ref;
  try {
    ref = parseReference(input, 'image');
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw new Error(`parseReference threw ${String(err)} for ${JSON.stringify(input.slice(0, 200))}`, { cause: err });
    if (!err.message.startsWith('image: ')) throw new Error(`error does not name the field: ${err.message}`);
    return;
  } finally {
    const ms = performance.now() - started;
    if (ms > PARSE_BUDGET_MS) throw new Error(`parseReference took ${ms.toFixed(1)} ms on ${input.length} chars (${JSON.stringify(input.slice(0, 60))}…)`);
  }
  // Round trip: the normalised string parses back to the same reference (with its domain now named).
  const formatted = formatReference(ref);
  const again = parseReference(formatted, 'image');
  for (const k of ['domain', 'path', 'tag', 'digest'] as const) {
    if (again[k] !== ref[k]) throw new Error(`round trip changed ${k}: ${JSON.stringify(input)} → ${formatted} → ${String(again[k])} (was ${String(ref[k])})`);
  }
  if (formatReference(again) !== formatted) throw new Error(`format is not stable for ${JSON.stringify(input)}`);
  // Moving a short name to a search registry yields a reference that still parses.
  if (ref.shortName) parseReference(formatReference(withDomain(ref, 'quay.io')), 'image');
}

export const target: FuzzTarget = {
  name: 'image-reference',
  seeds: () => seedStrings.map((s) => new TextEncoder().encode(s)),
  async run(input: Uint8Array): Promise<void> {
    const text = Buffer.from(input).toString('utf8');
    check(text);
    // The same bytes repeated to 100 000 characters: length alone must not make parsing slow.
    if (text.length > 0 && text.length < 100_000) check(text.repeat(Math.ceil(100_000 / text.length)).slice(0, 100_000));
  },
  arbitrary: fc
    .tuple(
      fc.constantFrom('', 'docker.io/', 'localhost:5000/', 'a.b/', '[::1]:1/', 'x:/'),
      fc.stringMatching(/^[a-z0-9._\-/]{0,80}$/),
      fc.constantFrom('', ':latest', ':v1.2', '@sha256:' + 'c'.repeat(64), ':t@sha512:' + 'd'.repeat(128), '@sha256:short'),
    )
    .map(([d, p, t]) => new TextEncoder().encode(d + p + t)),
  budgetMs: 2000,
};
