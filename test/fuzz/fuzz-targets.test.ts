/**
 * CI's share of fuzzing: every target on its seeds, its saved corpus and a few hundred generated
 * inputs, and every libFuzzer harness for a few seconds. `npm run fuzz` runs them for longer.
 */
import { expect } from 'chai';
import { loadTargets } from './load-targets';
import { findHarnesses, runHarness } from './native-harness';
import { formatResult, fuzzTarget } from './run-target';

const GENERATED_INPUTS = 300;
const NATIVE_SECONDS = 5;

describe('fuzz targets (seeds, corpus and generated inputs)', () => {
  const targets = loadTargets();

  it('finds the targets', () => {
    expect(targets.map((t) => t.name)).to.not.be.empty;
  });

  for (const target of targets) {
    it(`${target.name}: no finding`, async function () {
      this.timeout(120_000);
      try {
        const result = await fuzzTarget(target, { runs: GENERATED_INPUTS, seconds: 60 });
        expect(result.finding, formatResult(result)).to.equal(undefined);
      } finally {
        await target.dispose?.();
      }
    });
  }

  for (const harness of findHarnesses()) {
    it(`native-${harness.name} (libFuzzer, ${NATIVE_SECONDS} s): no finding`, async function () {
      this.timeout(240_000);
      const result = await runHarness(harness, NATIVE_SECONDS);
      expect(result.ok, result.summary).to.equal(true);
    });
  }
});
