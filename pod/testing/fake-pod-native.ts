import { appendFileSync } from 'node:fs';
import { NativeError, type ExitWatch, type MountFlag, type PauseSpec } from '../../native/binding';
import type { PodNativeOps } from '../dependencies';

/** A fake native binding: mounts are recorded in a map, pause processes are fake pids. */
export class FakePodNative implements PodNativeOps {
  readonly mounts = new Map<string, { source: string; fstype: string; flags: readonly MountFlag[]; data?: string }>();
  readonly started: PauseSpec[] = [];
  readonly alive = new Set<number>();
  readonly calls: string[] = [];
  private readonly exitCallbacks = new Map<number, Array<() => void>>();
  private nextPid = 4_000_000;
  /** Set to make the next matching call fail; `when` picks which mount (by fstype or target). */
  failures: Array<{ method: 'mount' | 'unmount' | 'startPause' | 'watchExit'; when?: (arg: string) => boolean; code: string }> = [];
  /** Makes pause die right after it started (watchExit then sees ESRCH). */
  pauseDiesAtOnce = false;
  /** Append pause's pid to its cgroup.procs files (they are plain files in a temp dir). */
  writeCgroupProcs = false;

  async mount(source: string, target: string, fstype: string, flags: readonly MountFlag[], data?: string): Promise<void> {
    this.calls.push(`mount ${fstype} ${target}`);
    this.maybeFail('mount', `${fstype} ${source} ${target}`);
    this.mounts.set(target, { source, fstype, flags, data });
  }

  async unmount(target: string): Promise<void> {
    this.calls.push(`unmount ${target}`);
    this.maybeFail('unmount', target);
    if (!this.mounts.delete(target)) throw new NativeError(`umount2 ${target}: EINVAL`, 'EINVAL', 22);
  }

  async startPause(spec: PauseSpec): Promise<{ pid: number }> {
    this.calls.push('startPause');
    this.maybeFail('startPause', spec.hostname);
    const pid = this.nextPid++;
    this.started.push(spec);
    if (this.writeCgroupProcs) for (const file of spec.cgroupProcs) appendFileSync(file, `${pid}\n`);
    if (!this.pauseDiesAtOnce) this.alive.add(pid);
    return { pid };
  }

  watchExit(pid: number, onExit: () => void): ExitWatch {
    this.calls.push(`watchExit ${pid}`);
    this.maybeFail('watchExit', String(pid));
    if (!this.alive.has(pid)) throw new NativeError(`pidfd_open ${pid}: ESRCH`, 'ESRCH', 3);
    const list = this.exitCallbacks.get(pid) ?? [];
    list.push(onExit);
    this.exitCallbacks.set(pid, list);
    return { close: () => this.exitCallbacks.set(pid, (this.exitCallbacks.get(pid) ?? []).filter((cb) => cb !== onExit)) };
  }

  /** Makes fake process `pid` exit (as SIGKILL or a crash would). */
  exit(pid: number): void {
    if (!this.alive.delete(pid)) return;
    const callbacks = this.exitCallbacks.get(pid) ?? [];
    this.exitCallbacks.delete(pid);
    setImmediate(() => callbacks.forEach((cb) => cb()));
  }

  private maybeFail(method: FakePodNative['failures'][number]['method'], arg: string): void {
    const i = this.failures.findIndex((f) => f.method === method && (!f.when || f.when(arg)));
    if (i < 0) return;
    const [failure] = this.failures.splice(i, 1);
    throw new NativeError(`${method} ${arg}: ${failure.code}`, failure.code, 1);
  }
}
