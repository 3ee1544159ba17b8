/**
 * Responses that carry their own wire encoding. A status handler that answers the same message
 * until the state behind it changes encodes it once, attaches the bytes, and returns the same
 * object on every call; the codec of its response type (handlers.ts) then sends those bytes
 * instead of encoding the message again. Other consumers (tracing, tests, in-process callers)
 * still see an ordinary message object.
 */
import type { MessageCodec } from './handlers';

const encodings = new WeakMap<object, Uint8Array>();

/**
 * `bytes` in memory of their own, for encodings kept as long as a state lasts: protobufjs and
 * Buffer.allocUnsafe hand out slices of Node's shared 8 KiB pool, and a kept slice keeps its slab.
 */
export function owned(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/**
 * Runs `fn` after the reply of the call in progress has left, for work that prepares the next
 * call. The reply is written when the handler's promise settles, which is after this call; two
 * turns of the event loop leave room for a reply that waits on one more turn of its own.
 */
export function afterReply(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

/** A message and its encoding (the message bytes, without a field tag). */
export interface EncodedMessage<W> {
  readonly wire: W;
  readonly bytes: Uint8Array;
}

/**
 * `convert` then `codec.encode`, done once per view when the view is frozen (the stores' shared
 * views are: a new state comes as a new view) and kept as long as the view lives; a view that is
 * not frozen is converted anew on every call.
 */
export function encodedPerView<V extends object, W>(convert: (view: V) => W, codec: { encode(message: W): { finish(): Uint8Array } }): (view: V) => EncodedMessage<W> {
  const kept = new WeakMap<V, EncodedMessage<W>>();
  return (view) => {
    const hit = kept.get(view);
    if (hit) return hit;
    const wire: W = Object.freeze(convert(view));
    const encoded = { wire, bytes: owned(codec.encode(wire).finish()) };
    if (Object.isFrozen(view)) kept.set(view, encoded);
    return encoded;
  };
}

/** Records `bytes` as the encoding of `message` (they must be exactly what its codec would write); returns `message`. */
export function withEncoding<T extends object>(message: T, bytes: Uint8Array): T {
  encodings.set(message, bytes);
  return message;
}

/** The encoding attached to `message`, if any. */
export function encodingOf(message: unknown): Uint8Array | undefined {
  return typeof message === 'object' && message !== null ? encodings.get(message) : undefined;
}

const bases = new WeakMap<object, object>();

/** `codec`, except that a message with an attached encoding is sent as those bytes. */
export function preEncoded<T>(codec: MessageCodec<T>): MessageCodec<T> {
  const wrapped: MessageCodec<T> = {
    encode(message: T): { finish(): Uint8Array } {
      const bytes = encodingOf(message);
      return bytes ? { finish: () => bytes } : codec.encode(message);
    },
    decode: (bytes: Uint8Array) => codec.decode(bytes),
  };
  bases.set(wrapped, codec);
  return wrapped;
}

/** The generated codec behind `codec` (itself unless preEncoded wrapped one). */
export function baseCodec(codec: object): object {
  return bases.get(codec) ?? codec;
}
