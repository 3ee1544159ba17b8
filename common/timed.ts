/** Timing of one async step, reported whether it succeeded or threw (step metrics, spans). */
import { performance } from 'node:perf_hooks';

/** Runs `fn` and reports its duration in seconds and whether it succeeded, also when it throws. */
export async function timeAsync<T>(fn: () => Promise<T>, report: (seconds: number, ok: boolean) => void): Promise<T> {
  const started = performance.now();
  let ok = false;
  try {
    const out = await fn();
    ok = true;
    return out;
  } finally {
    report((performance.now() - started) / 1000, ok);
  }
}
