#!/usr/bin/env node
/**
 * Reports functions (declarations, methods, arrows, function expressions) in non-test sources
 * longer than a limit: `node scripts/check-function-length.js [maxLines=80] [--json]`.
 * A function's length is its first to last line, nested closures included; exits 1 when any is over.
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '..');
const FOLDERS = ['common', 'cri', 'pod', 'runtime', 'image', 'cni', 'native', 'daemon'];

/** The .ts files under `dir` (relative to the repository root), not descending into `skipDirs`; `tests` keeps *.test.ts. */
function tsFiles(dir, { skipDirs = ['build', 'node_modules'], tests = true } = {}) {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return skipDirs.includes(e.name) ? [] : tsFiles(rel, { skipDirs, tests });
    if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) return [];
    return tests || !e.name.endsWith('.test.ts') ? [rel] : [];
  });
}

/** The name a function is known by: its own, its variable's, its property's, or `<anonymous>`. */
function nameOf(node, sf) {
  if (node.name) return node.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const p = node.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name) return p.name.getText(sf);
  return '<anonymous>';
}

/** Every function of `file` with its line span. */
function functionLengths(file, text) {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out = [];
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      const end = sf.getLineAndCharacterOfPosition(node.end).line + 1;
      out.push({ file, name: nameOf(node, sf), line: start, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Functions over `max` lines in the repository's non-test sources, longest first. */
function longFunctions(max) {
  return FOLDERS.flatMap((dir) => tsFiles(dir, { skipDirs: ['build', 'testing', 'generated', 'node_modules'], tests: false }))
    .flatMap((file) => functionLengths(file, fs.readFileSync(path.join(ROOT, file), 'utf8')))
    .filter((f) => f.lines > max)
    .sort((a, b) => b.lines - a.lines);
}

module.exports = { functionLengths, longFunctions, tsFiles };

if (require.main === module) {
  const max = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 80);
  const long = longFunctions(max);
  if (process.argv.includes('--json')) console.log(JSON.stringify(long, null, 2));
  else for (const f of long) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`);
  process.exitCode = long.length > 0 ? 1 : 0;
}
