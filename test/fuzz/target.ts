/**
 * The shape of a fuzz target. `npm run fuzz` and the unit test in this folder load every module
 * under `test/fuzz/targets/` and run each exported `FuzzTarget`: first on its seeds and the saved
 * inputs in `test/fuzz/corpus/<name>/`, then on generated inputs (fast-check: raw bytes, the
 * target's own arbitrary, and byte-level mutations of the seeds).
 */
import type { Arbitrary } from 'fast-check';

/** One fuzz target: a function over hostile bytes that must never crash or break its bounds. */
export interface FuzzTarget {
  /** Short kebab-case name; also the corpus folder name. */
  readonly name: string;
  /** Representative valid inputs to start from (mutated by the runner). */
  seeds(): Uint8Array[];
  /**
   * Runs one input. Must resolve for every input: rejecting bad input with the module's own typed
   * error is success and must be caught here; a crash, a hang past `budgetMs`, a write outside a
   * temp root or a broken memory bound is a finding and must throw.
   */
  run(input: Uint8Array): Promise<void>;
  /** Structure-aware inputs in addition to raw and mutated bytes. */
  readonly arbitrary?: Arbitrary<Uint8Array>;
  /** Longest one input may take (ms) before it counts as a hang; default 2000. */
  readonly budgetMs?: number;
  /** Releases what the target set up (temp dirs, servers); called once after the run. */
  dispose?(): Promise<void>;
}
