/**
 * The messages between the main thread and a layer worker (image/layer-worker.ts), and how errors
 * cross the thread boundary. Structured cloning drops error classes, so errors travel as their
 * cause chain of {name, kind, message, code} and are rebuilt as the same typed errors on the
 * other side (errorKindOf and describeError see what they would have seen in-process).
 *
 *   main                                   worker
 *   start {job} ─────────────────────────▶
 *   chunk {ArrayBuffer, transferred} ────▶  verify digest → decompress → DiffID → tar → files
 *                                  ◀─────  consumed {bytes}        (flow control credit)
 *                                  ◀─────  native {id, call}       (mknod / lsetxattr)
 *   native-result {id, error?} ──────────▶
 *   end | cancel {error} ────────────────▶
 *                                  ◀─────  done {result} | failed {error}
 *
 * After `done` or `failed` the worker has stopped touching the layer directory and waits for the
 * next `start`.
 */
import { BerthError, ErrorKind, RuntimeError, errorOfKind } from '../common/errors';
import { TarRecordTooLargeError, UnpackResult, UnsafeLayerError } from './layer-unpack';
import type { LayerCompression } from './manifest';

/** One layer to unpack: where, how it is compressed, and what the compressed bytes must hash to. */
export interface UnpackJob {
  readonly compression: LayerCompression;
  readonly root: string;
  readonly zstdPath?: string;
  readonly preserveOwners?: boolean;
  /** Compressed digest and size to verify while streaming (skipped when absent). */
  readonly digest?: string;
  readonly size?: number;
}

/** A native call the worker asks the main thread to make (the binding is injected there). */
export type NativeCall =
  | { readonly op: 'mknod'; readonly path: string; readonly mode: number; readonly major: number; readonly minor: number }
  | { readonly op: 'lsetxattr'; readonly path: string; readonly name: string; readonly value: Uint8Array };

/** One link of an error's cause chain. */
export interface SerializedErrorLink {
  readonly name: string;
  readonly kind?: ErrorKind;
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
}

/** An error and its causes, outermost first. */
export type SerializedError = readonly SerializedErrorLink[];

export type ToWorkerMessage =
  | { readonly type: 'start'; readonly job: UnpackJob }
  | { readonly type: 'chunk'; readonly data: ArrayBuffer }
  | { readonly type: 'end' }
  | { readonly type: 'cancel'; readonly error: SerializedError }
  | { readonly type: 'native-result'; readonly id: number; readonly error?: SerializedError };

export type FromWorkerMessage =
  | { readonly type: 'consumed'; readonly bytes: number }
  | { readonly type: 'native'; readonly id: number; readonly call: NativeCall }
  | { readonly type: 'done'; readonly result: UnpackResult }
  | { readonly type: 'failed'; readonly error: SerializedError };

const TO_WORKER_TYPES = new Set(['start', 'chunk', 'end', 'cancel', 'native-result']);
const FROM_WORKER_TYPES = new Set(['consumed', 'native', 'done', 'failed']);

function hasType(msg: unknown, types: Set<string>): boolean {
  return typeof msg === 'object' && msg !== null && typeof (msg as { type?: unknown }).type === 'string' && types.has((msg as { type: string }).type);
}

/** True for a message the main thread sends (both ends are this codebase; the type tag decides). */
export function isToWorkerMessage(msg: unknown): msg is ToWorkerMessage {
  return hasType(msg, TO_WORKER_TYPES);
}

/** True for a message a layer worker sends. */
export function isFromWorkerMessage(msg: unknown): msg is FromWorkerMessage {
  return hasType(msg, FROM_WORKER_TYPES);
}

const MAX_CHAIN = 8;

/** Flattens `err` and its causes into cloneable data. */
export function serializeError(err: unknown): SerializedError {
  const out: SerializedErrorLink[] = [];
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur !== undefined && cur !== null && !seen.has(cur) && out.length < MAX_CHAIN) {
    seen.add(cur);
    if (!(cur instanceof Error)) {
      out.push({ name: 'Error', message: String(cur) });
      break;
    }
    const e = cur as Error & { code?: unknown; errno?: unknown };
    out.push({
      name: e.name,
      kind: cur instanceof BerthError ? cur.kind : undefined,
      message: e.message,
      code: typeof e.code === 'string' ? e.code : undefined,
      errno: typeof e.errno === 'number' ? e.errno : undefined,
    });
    cur = e.cause;
  }
  return out;
}

/** Rebuilds an error chain: typed errors get their class back, others become plain Errors. */
export function deserializeError(chain: SerializedError): Error {
  let cause: Error | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const link = chain[i]!;
    const options = cause ? { cause } : undefined;
    let err: Error;
    if (link.name === TarRecordTooLargeError.name) err = new TarRecordTooLargeError(link.message, options);
    else if (link.name === UnsafeLayerError.name) err = new UnsafeLayerError(link.message, options);
    else if (link.kind !== undefined) err = errorOfKind(link.kind, link.message, options);
    else {
      err = new Error(link.message, options);
      err.name = link.name;
    }
    if (link.code !== undefined) Object.assign(err, { code: link.code });
    if (link.errno !== undefined) Object.assign(err, { errno: link.errno });
    cause = err;
  }
  return cause ?? new RuntimeError('unpack layer in worker: unknown error');
}
