/**
 * For e2e tests while native/ is not built: the two native calls unpacking needs, done by
 * `mknod` and python's os.setxattr (both never follow symlinks for our inputs). Prefer the real
 * addon: `loadUnpackNative()` returns it when native/addon.ts loads.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';
import type { UnpackNative } from '../layer-unpack';

const run = promisify(execFile);

export class CliUnpackNative implements UnpackNative {
  async mknod(file: string, mode: number, major: number, minor: number): Promise<void> {
    const type = (mode & 0o170000) === 0o010000 ? 'p' : (mode & 0o170000) === 0o060000 ? 'b' : 'c';
    const args = ['-m', (mode & 0o7777).toString(8), file, type];
    if (type !== 'p') args.push(String(major), String(minor));
    await run('mknod', args);
  }

  async lsetxattr(file: string, name: string, value: Buffer): Promise<void> {
    const script = 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), follow_symlinks=False)';
    await run('python3', ['-c', script, file, name, value.toString('hex')]);
  }
}

/** The real addon's binding when it is built, else the CLI stand-in. */
export function loadUnpackNative(): { native: UnpackNative; real: boolean } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(path.join(__dirname, '..', '..', 'native', 'addon')) as { loadNativeBinding(): UnpackNative };
    return { native: addon.loadNativeBinding(), real: true };
  } catch {
    return { native: new CliUnpackNative(), real: false };
  }
}
