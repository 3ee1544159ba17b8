/**
 * Runs one fuzz target: its seeds and saved corpus first, then generated inputs (raw bytes,
 * mutated seeds, the target's own arbitrary) until a run count or a time limit. A finding is an
 * input whose run threw or took longer than the target's budget; fast-check shrinks it first.
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { readCorpus, saveFinding } from './corpus';
import { mutatedSeeds } from './mutate';
import type { FuzzTarget } from './target';

/** How long and how much to fuzz. */
export interface FuzzRunOptions {
  /** Stop generating after this many seconds (default: no time limit). */
  seconds?: number;
  /** Stop generating after this many inputs (default: no count limit; one of the two is needed). */
  runs?: number;
  /** fast-check seed, for a reproducible run. */
  seed?: number;
  /** Save a finding under test/fuzz/corpus/<target>/ (default false). */
  save?: boolean;
}

/** What a run found. */
export interface FuzzFinding {
  input: Uint8Array;
  error: string;
  savedTo?: string;
}

/** The outcome of one target's run. */
export interface FuzzRunResult {
  target: string;
  /** Seeds and corpus inputs run. */
  fixedInputs: number;
  /** Generated inputs run (shrinking included). */
  generatedInputs: number;
  seconds: number;
  seed: number;
  finding?: FuzzFinding;
}

const DEFAULT_BUDGET_MS = 2000;
const MAX_RAW_BYTES = 4096;

/** Runs one input under the target's time budget; throws on a finding. */
export async function runInput(target: FuzzTarget, input: Uint8Array): Promise<void> {
  const budgetMs = target.budgetMs ?? DEFAULT_BUDGET_MS;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${budgetMs} ms`)), budgetMs);
  });
  try {
    await Promise.race([target.run(input), overdue]);
  } finally {
    clearTimeout(timer);
  }
  // A synchronous stall cannot be interrupted; it is still a finding once it returns.
  const elapsedMs = performance.now() - started;
  if (elapsedMs > budgetMs) throw new Error(`took ${elapsedMs.toFixed(0)} ms (budget ${budgetMs} ms)`);
}

/** Fuzzes `target` as `options` say; never throws for a finding (it is in the result). */
export async function fuzzTarget(target: FuzzTarget, options: FuzzRunOptions): Promise<FuzzRunResult> {
  if (options.seconds === undefined && options.runs === undefined) throw new Error('fuzzTarget: give seconds or runs');
  const started = performance.now();
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const result: FuzzRunResult = { target: target.name, fixedInputs: 0, generatedInputs: 0, seconds: 0, seed };
  const seeds = target.seeds();
  const fixed = [...seeds.map((bytes, i) => ({ label: `seed ${i}`, bytes })), ...readCorpus(target.name).map((c) => ({ label: c.file, bytes: c.bytes }))];
  for (const { label, bytes } of fixed) {
    result.fixedInputs++;
    try {
      await runInput(target, bytes);
    } catch (err) {
      result.finding = { input: bytes, error: `${label}: ${describe(err)}` };
      result.seconds = (performance.now() - started) / 1000;
      return result;
    }
  }

  const sources = [
    { arbitrary: fc.uint8Array({ maxLength: MAX_RAW_BYTES }), weight: 1 },
    { arbitrary: mutatedSeeds(fixed.map((f) => f.bytes)), weight: 3 },
  ];
  if (target.arbitrary) sources.push({ arbitrary: target.arbitrary, weight: 2 });
  const property = fc.asyncProperty(fc.oneof(...sources), async (input) => {
    result.generatedInputs++;
    await runInput(target, input);
  });
  const details = await fc.check(property, {
    seed,
    numRuns: options.runs ?? Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: options.seconds === undefined ? undefined : options.seconds * 1000,
    markInterruptAsFailure: false,
  });
  if (details.failed && details.counterexample) {
    const [input] = details.counterexample;
    result.finding = { input, error: describe(details.errorInstance) };
    if (options.save) result.finding.savedTo = saveFinding(target.name, input);
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** One summary line for a result, plus the finding when there is one. */
export function formatResult(r: FuzzRunResult): string {
  const head = `fuzz ${r.target}: ${r.fixedInputs} seed/corpus + ${r.generatedInputs} generated inputs in ${r.seconds.toFixed(1)} s (seed ${r.seed})`;
  if (!r.finding) return `${head}, no findings`;
  const hex = Buffer.from(r.finding.input.subarray(0, 256)).toString('hex');
  const saved = r.finding.savedTo ? `\n  saved to ${r.finding.savedTo}` : '';
  return `${head}, FINDING (${r.finding.input.length} bytes, first 256 as hex: ${hex})${saved}\n  ${r.finding.error.split('\n').join('\n  ')}`;
}
