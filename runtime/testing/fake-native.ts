/** RuntimeNative that records mounts and fails unmounts of what is not mounted, like umount2. */
import type { MountFlag, UnmountFlag } from '../../native/binding';
import type { RuntimeNative } from '../interfaces';

export class FakeNative implements RuntimeNative {
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  failMount: Error | undefined;
  /** Targets currently "mounted"; unmounting anything else fails with EINVAL like umount2. */
  readonly mounted = new Set<string>();
  async mount(source: string, target: string, fstype: string, flags: readonly MountFlag[], data?: string): Promise<void> {
    this.calls.push({ method: 'mount', args: [source, target, fstype, flags, data] });
    if (this.failMount) throw this.failMount;
    this.mounted.add(target);
  }
  async unmount(target: string, flags?: readonly UnmountFlag[]): Promise<void> {
    this.calls.push({ method: 'unmount', args: [target, flags] });
    if (!this.mounted.delete(target)) throw Object.assign(new Error(`umount ${target}: EINVAL`), { code: 'EINVAL' });
  }
}
