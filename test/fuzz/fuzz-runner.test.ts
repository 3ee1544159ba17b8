import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCorpus, saveFinding } from './corpus';
import { parseFuzzArgs } from './main';
import { findHarnesses } from './native-harness';
import { fuzzTarget, runInput } from './run-target';
import type { FuzzTarget } from './target';

/** A target with a planted bug two bytes deep: mutation of its seed must reach it. */
function plantedBug(): FuzzTarget & { calls: number } {
  return {
    name: 'planted',
    calls: 0,
    seeds: () => [Uint8Array.from([0x10, 0x20, 0x30])],
    async run(input: Uint8Array) {
      this.calls++;
      if (input.length >= 3 && input[0] === 0x10 && input[2] === 0xff) throw new Error('planted bug');
    },
  };
}

describe('test/fuzz runner', () => {
  it('finds a bug one byte edit away from a seed, shrinks it and reports the input', async () => {
    const target = plantedBug();
    const result = await fuzzTarget(target, { runs: 5000, seed: 7 });
    expect(result.finding, 'finding').to.not.equal(undefined);
    expect(result.finding!.error).to.contain('planted bug');
    expect(result.finding!.input[0]).to.equal(0x10);
    expect(result.finding!.input[2]).to.equal(0xff);
    expect(result.fixedInputs).to.equal(1);
  });

  it('runs the requested number of generated inputs when nothing is found', async () => {
    const target: FuzzTarget = { name: 'quiet', seeds: () => [new Uint8Array(4)], run: async () => {} };
    const result = await fuzzTarget(target, { runs: 200, seed: 1 });
    expect(result.finding).to.equal(undefined);
    expect(result.generatedInputs).to.equal(200);
  });

  it('counts an input that outlives the budget as a finding, synchronous stalls included', async () => {
    const slow: FuzzTarget = { name: 'slow', budgetMs: 20, seeds: () => [], run: () => new Promise((r) => setTimeout(r, 200)) };
    let error: unknown;
    await runInput(slow, new Uint8Array(1)).catch((e: unknown) => (error = e));
    expect(String(error)).to.contain('no answer within 20 ms');
    const busy: FuzzTarget = {
      name: 'busy',
      budgetMs: 20,
      seeds: () => [],
      run: async () => {
        const end = Date.now() + 60;
        while (Date.now() < end) {
          /* a stall the timer cannot interrupt */
        }
      },
    };
    error = undefined;
    await runInput(busy, new Uint8Array(1)).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/took \d+ ms \(budget 20 ms\)/);
  });

  it('saves a finding in the corpus folder and reads it back', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fuzz-corpus-'));
    try {
      const file = saveFinding('t', Uint8Array.from([1, 2, 3]), root);
      expect(path.basename(file)).to.match(/^crash-[0-9a-f]{12}$/);
      expect(readCorpus('t', root).map((c) => [...c.bytes])).to.deep.equal([[1, 2, 3]]);
      expect(readCorpus('absent', root)).to.deep.equal([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('parses its flags and refuses unknown ones', () => {
    expect(parseFuzzArgs(['--seconds', '5', '--target', 'a', '--target', 'b'])).to.deep.equal({ seconds: 5, targets: ['a', 'b'] });
    expect(() => parseFuzzArgs(['--minutes', '5'])).to.throw(/usage: fuzz/);
    expect(() => parseFuzzArgs(['--seconds', '-1'])).to.throw(/usage: fuzz/);
  });

  it('reads the sources a native harness links from its fuzz-sources line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fuzz-native-'));
    try {
      fs.writeFileSync(path.join(dir, 'x.cc'), '// fuzz-sources: ../src/a.cc  ../src/b.cc\nint f();\n');
      expect(findHarnesses(dir)).to.deep.equal([{ name: 'x', source: path.join(dir, 'x.cc'), linked: [path.resolve(dir, '../src/a.cc'), path.resolve(dir, '../src/b.cc')] }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
