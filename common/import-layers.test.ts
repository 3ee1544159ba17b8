import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * Dependencies point down: cri → pod/runtime/image/cni → native/common. A domain folder imports
 * its own folder, common/ and native/ only; cri/ never imports daemon/; only tests import test/
 * and testing/ folders. No exceptions are needed today; add one here with its reason if ever.
 */
const ALLOWED: Record<string, readonly string[]> = {
  common: ['common'],
  native: ['native', 'common'],
  pod: ['pod', 'common', 'native'],
  runtime: ['runtime', 'common', 'native'],
  image: ['image', 'common', 'native'],
  cni: ['cni', 'common', 'native'],
  cri: ['cri', 'pod', 'runtime', 'image', 'cni', 'common', 'native'],
};

const ROOT = path.resolve(__dirname, '../..');
// The file walker of scripts/ (plain JS, not compiled): loaded from the repository, not from dist/.
const { tsFiles } = require(path.resolve(__dirname, '../../scripts/check-function-length.js')) as { tsFiles(dir: string): string[] };
const isTest = (file: string): boolean => file.endsWith('.test.ts') || file.split('/').includes('testing');

/** The relative imports of each file that break the layering, as `file -> import`. */
export function layerViolations(files: ReadonlyArray<{ file: string; source: string }>): string[] {
  const out: string[] = [];
  for (const { file, source } of files) {
    const top = file.split('/')[0];
    for (const { fileName } of ts.preProcessFile(source, true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName));
      const targetTop = target.split('/')[0];
      const testOnly = targetTop === 'test' || target.split('/').includes('testing') || target.endsWith('.test');
      if (testOnly && !isTest(file)) out.push(`${file} -> ${fileName} (test-only code in a source file)`);
      else if (!testOnly && ALLOWED[top] && !ALLOWED[top].includes(targetTop)) out.push(`${file} -> ${fileName}`);
    }
  }
  return out;
}

describe('common/import-layers', () => {
  it('flags upward and sideways imports and test code in sources', () => {
    expect(
      layerViolations([
        { file: 'pod/a.ts', source: "import { x } from '../runtime/b';\nimport { y } from '../common/c';" },
        { file: 'image/a.ts', source: "export { z } from '../cri/server';" },
        { file: 'common/a.ts', source: "import '../native/binding';" },
        { file: 'runtime/a.ts', source: "import { FakeX } from './testing/fake-x';" },
        { file: 'runtime/a.test.ts', source: "import { FakeX } from './testing/fake-x';\nimport '../test/support/cri-client';" },
        { file: 'cri/a.ts', source: "import { w } from '../daemon/wiring';\nimport { p } from '../pod/pod-manager';" },
      ]),
    ).to.deep.equal([
      'pod/a.ts -> ../runtime/b',
      'image/a.ts -> ../cri/server',
      'common/a.ts -> ../native/binding',
      'runtime/a.ts -> ./testing/fake-x (test-only code in a source file)',
      'cri/a.ts -> ../daemon/wiring',
    ]);
  });

  it('the repository has no import against the layering', function () {
    this.timeout(60_000); // reads every source file
    const files = [...Object.keys(ALLOWED), 'daemon'].flatMap((dir) => tsFiles(dir)).map((file) => ({ file, source: readFileSync(path.join(ROOT, file), 'utf8') }));
    expect(files.length).to.be.greaterThan(300);
    expect(layerViolations(files)).to.deep.equal([]);
  });

  it('fakes live in testing/ folders as fake-<thing>.ts exporting Fake<Thing>', function () {
    this.timeout(60_000);
    const files = [...Object.keys(ALLOWED), 'daemon'].flatMap((dir) => tsFiles(dir));
    const misplaced = files.filter((f) => /(^|\/)(fake|.*-fakes?)[-.][^/]*$/.test(f) && !f.endsWith('.test.ts') && !f.split('/').includes('testing'));
    const misnamed = files
      .filter((f) => /\/testing\/fake-[^/]+\.ts$/.test(f) && !f.endsWith('.test.ts'))
      .filter((f) => {
        const thing = path.basename(f, '.ts').replace(/^fake-/, '').replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
        return !new RegExp(`export (class|interface|function|const) (start)?Fake${thing}\\b`).test(readFileSync(path.join(ROOT, f), 'utf8'));
      });
    // native/ names its seam fake FakeNativeBinding (native/testing/fake-native.ts); daemon/ is outside this layout for now.
    expect([...misplaced, ...misnamed].filter((f) => !f.startsWith('native/') && !f.startsWith('daemon/'))).to.deep.equal([]);
  });
});
