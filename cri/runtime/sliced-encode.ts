/**
 * Big List answers encoded a slice of items at a time. ListPodSandboxStats for 110 pods took 20 ms
 * of protobuf encoding in one piece every 10 s (stats are new each time, and code that runs six
 * times a minute is never optimized), and every call that arrived meanwhile waited for it. Encoding
 * `SLICE` items per turn of the event loop lets those calls in between.
 */
import { withEncoding } from '../pre-encoded';
import { encodeRepeatedField1 } from './list-answers';

/** Items encoded per turn of the event loop. */
const SLICE = 16;

/**
 * A response whose only field is repeated message field 1 holding `items` (ListPodSandboxStats,
 * ListContainerStats), with its exact encoding attached, made `slice` items per turn.
 */
export async function slicedRepeatedAnswer<W, R extends object>(items: readonly W[], encodeItem: (item: W) => Uint8Array, wrap: (items: W[]) => R, slice = SLICE): Promise<R> {
  const encoded: Array<{ wire: W; bytes: Uint8Array }> = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % slice === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    encoded.push({ wire: items[i], bytes: encodeItem(items[i]) });
  }
  return withEncoding(wrap(encoded.map((e) => e.wire)), encodeRepeatedField1(encoded));
}
