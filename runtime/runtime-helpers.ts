/** Small helpers shared by the container manager and its operations. */
import { BerthError, RuntimeError, errorKindOf } from '../common/errors';

/** ns since the epoch (double precision: sub-microsecond digits are not exact). */
export function nowNs(): number {
  return Date.now() * 1e6;
}

/** "SIGTERM", "TERM", "15" → a name runc accepts; empty means SIGTERM. */
export function stopSignalName(s: string): string {
  const t = (s || 'SIGTERM').trim().toUpperCase();
  if (/^[0-9]+$/.test(t)) return t;
  return t.startsWith('SIG') ? t.slice(3) : t;
}

/**
 * Adds a verb-first context to `err`. When a typed error is on the cause chain the wrapper is an
 * untyped BerthError (so errorKindOf still finds the original kind); otherwise it is a RuntimeError.
 */
export function wrapError(err: unknown, what: string): Error {
  if (err instanceof Error && err.message.startsWith(what)) return err;
  return errorKindOf(err) !== undefined ? new BerthError(what, { cause: err }) : new RuntimeError(what, { cause: err });
}
