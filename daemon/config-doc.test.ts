import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderConfigDoc } from './config-doc';
import { OPTIONS } from './config-schema';

/** docs/configuration.md of this checkout (from dist/daemon or from a private outDir run in the repo). */
function docPath(): string {
  const candidates = [path.resolve(__dirname, '..', '..', 'docs', 'configuration.md'), path.resolve('docs', 'configuration.md')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`docs/configuration.md not found (looked at ${candidates.join(', ')})`);
  return found;
}

describe('daemon/config-doc', () => {
  it('docs/configuration.md is current (regenerate: node scripts/gen-config-doc.js)', () => {
    expect(fs.readFileSync(docPath(), 'utf8')).to.equal(renderConfigDoc());
  });

  it('documents every option with its key, flag and default', () => {
    const doc = renderConfigDoc();
    for (const o of OPTIONS) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`[${o.section}]\` | \`${o.key}\` |`));
      expect(row, `${o.section}.${o.key}`).to.be.a('string');
      if (o.flag) expect(row).to.contain(`\`--${o.flag}\``);
      expect(row).to.contain(Array.isArray(o.default) ? JSON.stringify(o.default[0]) : JSON.stringify(o.default));
    }
  });
});
