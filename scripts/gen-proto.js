#!/usr/bin/env node
/*
 * Generates the static protobufjs codecs of the CRI API (cri/api/cri.proto) into
 * cri/api/generated/cri.js + cri.d.ts, and copies them into dist/cri/api/generated/ so that the
 * compiled tree works too (tsc does not copy .js files because allowJs is off).
 *
 * Usage: node scripts/gen-proto.js [--also <outDir>]...
 *   --also <outDir>  also copy into <outDir>/cri/api/generated (a private tsc outDir, e.g.
 *                    /tmp/dist-cri, used for parallel dev loops).
 *
 * 64-bit integers: the generated module switches protobufjs to plain JS numbers (it clears
 * util.Long before any message class is defined), and the typings say `number` (--force-number).
 * Values above 2^53 lose precision (nanosecond timestamps keep ~256 ns resolution), which is
 * harmless for CRI's sizes, counters and times and spares every handler from Long arithmetic.
 */
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const protoFile = path.join(root, 'cri', 'api', 'cri.proto');
const outDir = path.join(root, 'cri', 'api', 'generated');
const jsOut = path.join(outDir, 'cri.js');
const dtsOut = path.join(outDir, 'cri.d.ts');
const bin = (name) => path.join(root, 'node_modules', 'protobufjs-cli', 'bin', name);

/** Extra outDirs given with --also. */
function parseExtraOutDirs(argv) {
  const dirs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--also' && argv[i + 1]) dirs.push(path.resolve(argv[++i]));
    else throw new Error(`gen-proto: unknown argument ${argv[i]}`);
  }
  return dirs;
}

const LONG_PRELUDE = [
  '',
  '// berth: decode 64-bit integers as JS numbers (see scripts/gen-proto.js).',
  '$protobuf.util.Long = undefined;',
  '$protobuf.configure();',
  '',
].join('\n');

/** pbjs's static module of the CRI proto; `extra` adds or drops parts. */
function pbjs(out, extra) {
  execFileSync(
    process.execPath,
    [bin('pbjs'), '-t', 'static-module', '-w', 'commonjs', '--force-number', '--no-verify', '--no-delimited', '--no-convert', '--no-typeurl', '--no-beautify', ...extra, '-o', out, protoFile],
    { stdio: 'inherit' },
  );
}

/**
 * berthd only encodes and decodes: no verify, fromObject/toObject/toJSON or type URLs. The typings
 * come from a commented build (pbts reads the JSDoc); the module berthd loads has no comments,
 * since V8 keeps a module's whole source in the heap for as long as the process runs (2.4 MB with
 * the comments and converters, 0.8 MB without).
 */
function generate() {
  fs.mkdirSync(outDir, { recursive: true });
  const commented = path.join(outDir, '.cri.commented.js');
  try {
    pbjs(commented, []);
    execFileSync(process.execPath, [bin('pbts'), '--no-comments', '-o', dtsOut, commented], { stdio: 'inherit' });
  } finally {
    fs.rmSync(commented, { force: true });
  }
  pbjs(jsOut, ['--no-comments']);
  const requireLine = 'var $protobuf = require("protobufjs/minimal");';
  let js = fs.readFileSync(jsOut, 'utf8');
  if (!js.includes(requireLine)) throw new Error('gen-proto: unexpected pbjs output (no protobufjs/minimal require)');
  js = js.replace(requireLine, requireLine + LONG_PRELUDE);
  fs.writeFileSync(jsOut, js);
  // With --force-number no field type may mention Long (pbts still emits an unused import of it).
  const dts = fs.readFileSync(dtsOut, 'utf8').replace('import Long = require("long");\n', '');
  if (/\bLong\b/.test(dts)) throw new Error('gen-proto: typings still mention Long');
  fs.writeFileSync(dtsOut, dts);
}

function copyInto(distRoot) {
  const target = path.join(distRoot, 'cri', 'api', 'generated');
  fs.mkdirSync(target, { recursive: true });
  for (const f of ['cri.js', 'cri.d.ts']) fs.copyFileSync(path.join(outDir, f), path.join(target, f));
}

const extra = parseExtraOutDirs(process.argv.slice(2));
generate();
for (const dir of [path.join(root, 'dist'), ...extra]) copyInto(dir);
console.log(`gen-proto: wrote ${path.relative(root, jsOut)} and ${path.relative(root, dtsOut)}`);
