/** Awaiting a call that must fail. */

/**
 * The error `attempt` fails with: a promise that rejects, or a function that throws or returns a
 * promise that rejects (for calls that may fail synchronously, like a unary CRI handler answering
 * from memory). Throws when it succeeds.
 */
export async function rejection(attempt: unknown): Promise<Error> {
  try {
    await (typeof attempt === 'function' ? (attempt as () => unknown)() : attempt);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
