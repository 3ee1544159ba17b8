/** A tiny recording stand-in for the native calls image/ makes, for unit tests without root. */
import { promises as fs } from 'node:fs';
import type { UnpackNative } from '../layer-unpack';

export class FakeUnpackNative implements UnpackNative {
  readonly calls: Array<{ method: 'mknod' | 'lsetxattr'; path: string; args: unknown[] }> = [];

  /** Records the call and leaves an empty placeholder file so later lstat calls see something. */
  async mknod(path: string, mode: number, major: number, minor: number): Promise<void> {
    this.calls.push({ method: 'mknod', path, args: [mode, major, minor] });
    await fs.writeFile(path, '', { flag: 'wx' });
  }

  async lsetxattr(path: string, name: string, value: Buffer): Promise<void> {
    this.calls.push({ method: 'lsetxattr', path, args: [name, value.toString('latin1')] });
  }
}
