/** Test-only: what the server sends for an answer, and counting a generated encoder's calls. */
import { CRI_METHODS, type CriMethodName } from '../handlers';

/** What the server sends for `message` of `method` (the table's codec, as the dispatcher calls it). */
export function wireOf(method: CriMethodName, message: object): Uint8Array {
  return (CRI_METHODS[method].response.encode as (m: object) => { finish(): Uint8Array })(message).finish();
}

/** Counts calls of a generated message class's encode while `fn` runs. */
export async function countEncodes(codec: { encode: (...args: never[]) => unknown }, fn: (count: () => number) => Promise<void>): Promise<void> {
  const original = codec.encode;
  let n = 0;
  codec.encode = ((...args: never[]) => (n++, original.apply(codec, args))) as typeof original;
  try {
    await fn(() => n);
  } finally {
    codec.encode = original;
  }
}
