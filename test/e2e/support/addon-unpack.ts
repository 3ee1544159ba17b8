/**
 * The native ops image unpacking needs, from the real addon (required: a missing or broken build
 * throws the loader's message naming the addon file). Each call that the addon completed is
 * recorded, so an image test can check that whiteouts, opaque directories and device nodes were
 * made by the addon, not by anything else.
 */
import { loadNativeBinding, nativeAddonPath } from '../../../native/addon';
import type { NativeBinding } from '../../../native/binding';
import type { UnpackNative } from '../../../image/layer-unpack';

/** One completed addon call: the op and its path. */
export interface AddonUnpackCall {
  op: 'mknod' | 'lsetxattr';
  path: string;
  /** mknod: the mode; lsetxattr: the attribute name. */
  detail: number | string;
}

/** UnpackNative over the real addon, recording what it did. */
export class AddonUnpackNative implements UnpackNative {
  /** The addon file the binding was loaded from. */
  readonly addonFile = nativeAddonPath();
  readonly calls: AddonUnpackCall[] = [];
  private readonly binding: NativeBinding = loadNativeBinding();

  async mknod(file: string, mode: number, major: number, minor: number): Promise<void> {
    await this.binding.mknod(file, mode, major, minor);
    this.calls.push({ op: 'mknod', path: file, detail: mode });
  }

  async lsetxattr(file: string, name: string, value: Buffer): Promise<void> {
    await this.binding.lsetxattr(file, name, value);
    this.calls.push({ op: 'lsetxattr', path: file, detail: name });
  }
}
