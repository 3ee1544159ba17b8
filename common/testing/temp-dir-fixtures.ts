/** A fresh temp dir for every test of a describe block. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Registers a beforeEach that makes a temp dir named `<prefix>XXXXXX` and hands it to `setup`
 * (which may prepare more), and an afterEach that removes it with everything in it.
 */
export function tempDirEach(prefix: string, setup: (dir: string) => unknown): void {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
    await setup(dir);
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
}

/** Creates the directories `names` (with parents) under `base`; returns their paths in the same order. */
export function subdirs(base: string, ...names: string[]): string[] {
  return names.map((name) => {
    const dir = path.join(base, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  });
}
