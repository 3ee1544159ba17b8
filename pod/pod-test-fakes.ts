/**
 * Fakes of the interfaces pod/ consumes, for its unit tests: a native layer that tracks mounts and
 * fake pause processes, a ProcessControl that "kills" those, and a network that tracks attachments.
 * Failures are injected per operation.
 */
import { appendFileSync } from 'node:fs';
import { NativeError, type ExitWatch, type MountFlag, type PauseSpec } from '../native/binding';
import { PodNativeOps, PodNetwork, PodNetworkRef, PodNetworkSetup, ProcessControl } from './dependencies';

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

/** ProcessControl over FakePodNative's fake pids. */
export class FakeProcesses implements ProcessControl {
  readonly signals: Array<{ pid: number; signal: string }> = [];
  constructor(private readonly native: FakePodNative) {}
  kill(pid: number, signal: NodeJS.Signals): void {
    this.signals.push({ pid, signal });
    if (!this.native.alive.has(pid)) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    if (signal === 'SIGKILL') this.native.exit(pid);
  }
  isAlive(pid: number): boolean {
    return this.native.alive.has(pid);
  }
  startTime(pid: number): string | undefined {
    return this.native.alive.has(pid) ? `start-${pid}` : undefined;
  }
}

/** A network that hands out 10.99.0.x addresses and tracks attachments. */
export class FakePodNetwork implements PodNetwork {
  readonly attached = new Map<string, PodNetworkSetup>();
  readonly setUps: PodNetworkSetup[] = [];
  readonly tearDowns: string[] = [];
  failSetUp: Error | undefined;
  /** Make ADD fail after it attached (as a plugin failing mid-chain does). */
  attachBeforeFailing = false;
  /** Make ADD never finish (berthd "crashes" mid-RunPodSandbox). */
  hang = false;
  private next = 2;

  async setUpPod(pod: PodNetworkSetup): Promise<{ ips: string[]; interfaceName: string; raw: unknown }> {
    this.setUps.push(pod);
    if (this.hang) return new Promise(() => undefined);
    if (this.failSetUp) {
      if (this.attachBeforeFailing) this.attached.set(pod.id, pod);
      throw this.failSetUp;
    }
    this.attached.set(pod.id, pod);
    const ip = `10.99.0.${this.next++}`;
    return { ips: [ip], interfaceName: 'eth0', raw: { cniVersion: '1.0.0', ips: [{ address: `${ip}/24` }] } };
  }

  async tearDownPod(pod: PodNetworkRef): Promise<void> {
    this.tearDowns.push(pod.id);
    this.attached.delete(pod.id);
  }

  async checkPod(pod: PodNetworkRef): Promise<void> {
    if (!this.attached.has(pod.id)) throw new Error(`pod ${pod.id} not attached`);
  }
}
