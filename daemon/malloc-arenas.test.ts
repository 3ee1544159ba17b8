import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { limitMallocArenas, MALLOC_ARENAS } from './malloc-arenas';

describe('daemon/malloc-arenas', () => {
  const recorder = () => {
    const calls: number[] = [];
    return { calls, load: () => ({ limitMallocArenas: (max: number) => void calls.push(max) }) };
  };

  it('caps the arenas at 2 unless MALLOC_ARENA_MAX or a glibc tunable already says', () => {
    const r = recorder();
    expect(limitMallocArenas({}, r.load)).to.equal(true);
    expect(limitMallocArenas({ MALLOC_ARENA_MAX: '4' }, r.load)).to.equal(false);
    expect(limitMallocArenas({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' }, r.load)).to.equal(false);
    expect(limitMallocArenas({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0' }, r.load)).to.equal(true);
    expect(r.calls).to.deep.equal([MALLOC_ARENAS, MALLOC_ARENAS]);
    expect(MALLOC_ARENAS).to.equal(2);
  });

  it('leaves a missing or broken addon for the serve command to report', () => {
    expect(limitMallocArenas({}, () => { throw new Error('cannot load'); })).to.equal(false);
  });

  it('is the first module the compiled entry point requires', () => {
    const compiled = readFileSync(path.join(__dirname, 'main.js'), 'utf8');
    expect(compiled.match(/require\("([^"]+)"\)/)?.[1]).to.equal('./malloc-arenas');
  });
});
