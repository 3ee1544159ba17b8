/**
 * V8 settings for a long-lived daemon. V8 optimizes a function once it has run for its
 * "interrupt budget" of bytecode; the default suits pages and short scripts, which mostly run code
 * once. berthd runs the same request path (HTTP/2 frames, HPACK, dispatch, the status answers)
 * thousands of times an hour from its first minute, so it asks for optimization about eight times
 * sooner: a freshly (re)started daemon answers at full speed after a few hundred calls instead of a
 * few thousand. The cost is compiling some start-up code that would have stayed interpreted.
 */
import * as v8 from 'node:v8';

/** Bytecode budget before V8 considers optimizing a function (V8's default is 67584). */
export const INTERRUPT_BUDGET = 8192;

/** Applies berthd's V8 settings; call once, before serving. */
export function tuneV8(): void {
  v8.setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}
