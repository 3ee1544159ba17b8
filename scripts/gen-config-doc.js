#!/usr/bin/env node
/*
 * Writes docs/configuration.md from the option table (daemon/config-schema.ts) using the compiled
 * tree. Usage: node scripts/gen-config-doc.js [--dist <outDir>]   (default outDir: dist)
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const i = process.argv.indexOf('--dist');
const dist = i !== -1 ? path.resolve(process.argv[i + 1]) : path.join(root, 'dist');
const { renderConfigDoc } = require(path.join(dist, 'daemon', 'config-doc.js'));
const target = path.join(root, 'docs', 'configuration.md');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.writeFileSync(target, renderConfigDoc());
console.log(`gen-config-doc: wrote ${path.relative(root, target)}`);
