#!/usr/bin/env node
/**
 * Lists exports no other file imports (`node scripts/find-unused-exports.js`), exports only tests
 * use (`... all`), and source modules imported only by tests or by nothing (`... modules`).
 * Uses tsc's program and checker: every import/export-from is resolved to the declaring file.
 * Entry points (daemon/main.ts, worker files, modules required by path) show as "not imported".
 */
const path = require('node:path');
const ts = require('typescript');
const root = path.resolve(__dirname, '..');
const cfg = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
const program = ts.createProgram(cfg.fileNames, cfg.options);
const checker = program.getTypeChecker();
const rel = (f) => path.relative(root, f);
const isTest = (f) => /\.test\.ts$/.test(f) || f.startsWith('test/') || f.split('/').includes('testing');
const files = program.getSourceFiles().filter((s) => !s.isDeclarationFile && !rel(s.fileName).startsWith('node_modules'));
const used = new Map(); // "file#name" -> Set(importer)
const moduleImporters = new Map(); // file -> Set(importer)
function mark(sym, importer) {
  if (!sym) return;
  if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
  for (const d of sym.declarations ?? []) {
    const f = rel(d.getSourceFile().fileName);
    const k = `${f}#${sym.name}`;
    if (!used.has(k)) used.set(k, new Set());
    used.get(k).add(importer);
  }
}
for (const sf of files) {
  const me = rel(sf.fileName);
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const modSym = checker.getSymbolAtLocation(node.moduleSpecifier);
      const target = modSym?.declarations?.[0]?.getSourceFile?.().fileName;
      if (target) { const t = rel(target); if (!moduleImporters.has(t)) moduleImporters.set(t, new Set()); moduleImporters.get(t).add(me); }
      if (ts.isImportDeclaration(node)) {
        const c = node.importClause;
        if (c?.name) mark(checker.getSymbolAtLocation(c.name), me);
        if (c?.namedBindings && ts.isNamedImports(c.namedBindings)) for (const e of c.namedBindings.elements) mark(checker.getSymbolAtLocation(e.name), me);
        if (c?.namedBindings && ts.isNamespaceImport(c.namedBindings) && modSym) for (const e of checker.getExportsOfModule(modSym)) mark(e, me);
      } else if (node.exportClause && ts.isNamedExports(node.exportClause)) {
        for (const e of node.exportClause.elements) mark(checker.getExportSpecifierLocalTargetSymbol(e), me);
      } else if (modSym) for (const e of checker.getExportsOfModule(modSym)) mark(e, me);
    }
    // dynamic import('./x') and typeof import('./x')
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      const modSym = checker.getSymbolAtLocation(node.arguments[0]);
      if (modSym) for (const e of checker.getExportsOfModule(modSym)) mark(e, me);
    }
    if (ts.isImportTypeNode(node) && modSymOf(node)) for (const e of checker.getExportsOfModule(modSymOf(node))) mark(e, me);
    ts.forEachChild(node, visit);
  };
  const modSymOf = (n) => n.argument && ts.isLiteralTypeNode(n.argument) ? checker.getSymbolAtLocation(n.argument.literal) : undefined;
  visit(sf);
}
const mode = process.argv[2] ?? 'exports';
for (const sf of files) {
  const me = rel(sf.fileName);
  if (isTest(me)) continue;
  const modSym = checker.getSymbolAtLocation(sf);
  if (!modSym) continue;
  if (mode === 'modules') {
    const imp = [...(moduleImporters.get(me) ?? [])];
    if (imp.length && imp.every(isTest)) console.log(`${me}\timported only by ${imp.join(', ')}`);
    if (!imp.length) console.log(`${me}\tnot imported`);
    continue;
  }
  for (const e of checker.getExportsOfModule(modSym)) {
    if (e.flags & ts.SymbolFlags.Alias) continue; // a re-export: its users are counted at the declaration
    const users = [...(used.get(`${me}#${e.name}`) ?? [])].filter((u) => u !== me);
    // used inside its own file?
    const local = sf.text.split(new RegExp(`\\b${e.name}\\b`)).length - 1 > 1;
    if (users.length === 0) console.log(`${me}\t${e.name}\tunused${local ? ' (used in its file: drop export)' : ''}`);
    else if (mode === 'all' && users.every(isTest)) console.log(`${me}\t${e.name}\tonly tests: ${users.join(',')}`);
  }
}
