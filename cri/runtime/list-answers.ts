/**
 * ListContainers / ListPodSandbox answers put together from per-item encodings: kubelet relists
 * every second, and each item is encoded once per state (a frozen view) instead of on every call.
 * An answer whose items are the very views of the previous one is that previous answer again.
 */
import { withEncoding, type EncodedMessage } from '../pre-encoded';
import { filled, putField, varintSize } from './wire-splice';

/**
 * The bytes of a message whose only field is repeated message field 1 holding `items`, as the
 * generated encoder writes them (ListContainersResponse.containers, ListPodSandboxResponse.items).
 */
export function encodeRepeatedField1(items: readonly EncodedMessage<unknown>[]): Uint8Array {
  let size = 0;
  for (const item of items) size += 1 + varintSize(item.bytes.length, 0) + item.bytes.length;
  // Not zeroed: every byte is written, which the end check holds to. Its own memory (it may be kept).
  const out = Buffer.allocUnsafeSlow(size);
  let pos = 0;
  for (const item of items) pos = putField(out, pos, /* field 1, length-delimited */ 10, item.bytes);
  return filled(out, pos);
}

/**
 * Answers of one List RPC: `answer(views)` encodes each view once (through `encode`) and returns
 * an ordinary response object carrying its exact encoding. The last answer is kept and given again
 * while the views are the same objects in the same order; only frozen views are taken as unchanged.
 */
export class ListAnswers<V extends object, W, R extends object> {
  private last: { views: readonly V[]; answer: R } | undefined;

  constructor(
    private readonly encode: (view: V) => EncodedMessage<W>,
    private readonly wrap: (items: W[]) => R,
  ) {}

  /** The answer listing `views`. */
  answer(views: readonly V[]): R {
    const last = this.last;
    if (last && sameFrozen(last.views, views)) return last.answer;
    const items = views.map(this.encode);
    // Frozen through and through: it is shared by the calls that follow, and its bytes must stay what it says.
    const wires = Object.freeze(items.map((i) => i.wire)) as W[];
    const answer = withEncoding(Object.freeze(this.wrap(wires)), encodeRepeatedField1(items));
    this.last = { views, answer };
    return answer;
  }
}

/** True when `b` holds the same frozen objects as `a`, in the same order. */
function sameFrozen<V extends object>(a: readonly V[], b: readonly V[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] || !Object.isFrozen(b[i])) return false;
  }
  return true;
}
