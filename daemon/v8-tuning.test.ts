import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** Calls of a small hot function until V8 has optimized it, in a fresh node (tuned or not). */
function callsUntilOptimized(tuned: boolean): number {
  const script = `
    ${tuned ? `require(${JSON.stringify(path.join(__dirname, 'v8-tuning.js'))}).tuneV8();` : ''}
    function hot(a) { let s = 0; for (let i = 0; i < 4; i++) s += a[i] * 2; return s; }
    const arr = [1, 2, 3, 4];
    let n = 0;
    // Bit 4 of the status: optimized code is installed.
    for (; n < 100000; n++) { hot(arr); if (%GetOptimizationStatus(hot) & 16) break; }
    process.stdout.write(String(n));`;
  // Compilation on the main thread, so the count does not depend on a background thread's timing.
  return Number(execFileSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', '-e', script], { encoding: 'utf8' }));
}

describe('daemon/v8-tuning', () => {
  it('makes V8 optimize a hot function after far fewer calls than its default', () => {
    const untuned = callsUntilOptimized(false);
    const tuned = callsUntilOptimized(true);
    expect(untuned).to.be.below(100000);
    expect(tuned).to.be.below(untuned / 2);
  });
});
