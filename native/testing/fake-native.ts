/**
 * The one fake of the native seam: a recording NativeBinding for unit tests of pod/, runtime/,
 * image/ and cri/ (no other native fake exists; narrow views such as RuntimeNative or
 * UnpackNative take it as is). Every call is recorded
 * in `calls`; mounts, device nodes and xattrs live in memory (so a test can assert nothing
 * leaked); pause processes are fake pids whose exit a test triggers with `exitProcess`; any
 * method can be made to fail with `fail`. It behaves like the real addon where it matters:
 * unmounting something not mounted is EINVAL, lgetxattr of an absent name is undefined,
 * watchExit of a gone pid throws ESRCH synchronously, connectInNetns refuses by default.
 * openPty hands out fake fd numbers; connectSeqpacket connects to a FakeSeqpacketPeer that a test
 * drives (packets to the client, end of stream) and inspects (packets sent, write shutdown);
 * streamFd connects to one the same way (path `fd:<n>`). spawnProcess hands out fake pids whose
 * exit a test reports with `exitChild`; reduceMemory only counts.
 */
import { appendFileSync, promises as fs, writeFileSync } from 'node:fs';
import { NativeError, type ChildExitCallback, type ContainerExecProcess, type ContainerExecSpec, type ExitWatch, type MountFlag, type NativeBinding, type PauseProcess, type PauseSpec, type PtyPair, type SeqpacketHandlers, type SeqpacketSocket, type UnmountFlag, type UserNamespaceMaps } from '../binding';

/** Names of the NativeBinding methods. */
export type NativeMethod = keyof NativeBinding;

/** One recorded call. */
export interface RecordedCall {
  method: NativeMethod;
  args: unknown[];
}

/** A mount the fake considers active. */
export interface FakeMount {
  source: string;
  target: string;
  fstype: string;
  flags: readonly MountFlag[];
  data?: string;
}

/** A fake pause process. */
export interface FakeProcess {
  pid: number;
  spec: PauseSpec;
}

/** A device node made by mknod. */
export interface FakeNode {
  mode: number;
  major: number;
  minor: number;
}

/** The far end of a fake seqpacket connection, driven by the test. */
export class FakeSeqpacketPeer {
  /** Packets the client sent, in order. */
  readonly received: Buffer[] = [];
  /** The client called shutdownWrite. */
  writeShutdown = false;
  /** The client closed the socket. */
  closed = false;
  /** The client paused reading. */
  paused = false;

  constructor(
    readonly path: string,
    private readonly handlers: SeqpacketHandlers,
  ) {}

  /** Delivers `packet` to the client (dropped after close, as the real socket stops reading). */
  sendToClient(packet: Buffer): void {
    if (!this.closed) this.handlers.onPacket(packet);
  }

  /** Ends the stream as the peer closing (or failing with `error`). */
  end(error?: NativeError): void {
    if (!this.closed) this.handlers.onEnd(error);
  }
}

const ERRNO: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  EACCES: 13,
  EBADF: 9,
  EBUSY: 16,
  EEXIST: 17,
  ENOTDIR: 20,
  EINVAL: 22,
  ENOSPC: 28,
  ENODATA: 61,
  ENOTSUP: 95,
  ECONNREFUSED: 111,
  ETIMEDOUT: 110,
};

/** A NativeError for `code` ('EPERM', …) with the matching errno. */
export function fakeNativeError(code: string, message: string): NativeError {
  return new NativeError(`${message}: ${code}`, code, ERRNO[code] ?? 0);
}

const PROPAGATION_FLAGS: readonly MountFlag[] = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared'];

interface InjectedFailure {
  error: Error;
  remaining: number;
  when?: (args: readonly unknown[]) => boolean;
}

/** Options of FakeNativeBinding. */
export interface FakeNativeOptions {
  /** First fake pid handed out by startPause and spawnProcess. */
  firstPid?: number;
  /** mknod also leaves an empty file at the path (for code that lstat's what it made, e.g. unpacking). */
  nodesOnDisk?: boolean;
}

/** Recording, in-memory NativeBinding (see the file comment). */
export class FakeNativeBinding implements NativeBinding {
  /** Every call in order, including failed ones. */
  readonly calls: RecordedCall[] = [];
  /** Device nodes by path. */
  readonly nodes = new Map<string, FakeNode>();
  /** Extended attributes by path, then name. */
  readonly xattrs = new Map<string, Map<string, Buffer>>();
  /** Answers connectInNetns; the default refuses like a closed port. */
  connectHandler: (netnsPath: string, host: string, port: number) => Promise<number> | number = (netnsPath, host, port) => {
    throw fakeNativeError('ECONNREFUSED', `connectInNetns: connect to ${host} port ${port} in ${netnsPath}`);
  };

  /** Terminal sizes set with setWindowSize, by fd. */
  readonly windowSizes = new Map<number, { rows: number; cols: number }>();
  /** Peers of connectSeqpacket calls, in order. */
  readonly seqpacketPeers: FakeSeqpacketPeer[] = [];

  /** Fake pause processes exit right after they started (watchExit then throws ESRCH). */
  pauseExitsAtOnce = false;
  /** startPause appends the pid to each of the spec's cgroupProcs files (plain files in a temp dir). */
  writeCgroupProcs = false;
  /** How many times reduceMemory ran. */
  memoryReductions = 0;

  private readonly mounts: FakeMount[] = [];
  private readonly children = new Map<number, ChildExitCallback[]>();
  private readonly pauseSpecs: PauseSpec[] = [];
  private nextFd = 1000;
  private readonly processes = new Map<number, FakeProcess>();
  private readonly watchers = new Map<number, Set<() => void>>();
  private readonly failures = new Map<NativeMethod, InjectedFailure[]>();
  private nextPid: number;

  private readonly nodesOnDisk: boolean;

  constructor(options: FakeNativeOptions = {}) {
    this.nextPid = options.firstPid ?? 100_000;
    this.nodesOnDisk = options.nodesOnDisk ?? false;
  }

  /**
   * Makes the next `times` calls of `method` (those whose arguments match `when`, if given) fail
   * (forever when `times` is omitted) with `error`, or with a NativeError of that code when
   * `error` is a string such as 'EPERM'.
   */
  fail(method: NativeMethod, error: Error | string, times = Number.POSITIVE_INFINITY, when?: (args: readonly unknown[]) => boolean): void {
    const list = this.failures.get(method) ?? [];
    const value = typeof error === 'string' ? fakeNativeError(error, `${method} (injected)`) : error;
    list.push({ error: value, remaining: times, when });
    this.failures.set(method, list);
  }

  /** Removes every injected failure. */
  clearFailures(): void {
    this.failures.clear();
  }

  /** The calls of one method, in order. */
  callsOf(method: NativeMethod): RecordedCall[] {
    return this.calls.filter((entry) => entry.method === method);
  }

  /** Mounts still active, oldest first. */
  activeMounts(): readonly FakeMount[] {
    return [...this.mounts];
  }

  /** The topmost active mount on `target`, if any. */
  mountAt(target: string): FakeMount | undefined {
    return this.topMountAt(target);
  }

  /** Whether something is mounted on `target`. */
  isMounted(target: string): boolean {
    return this.topMountAt(target) !== undefined;
  }

  /** Adds an active mount without recording a call (a mount left by an earlier run). */
  addMount(target: string, mount: Partial<Omit<FakeMount, 'target'>> = {}): void {
    this.mounts.push({ source: mount.source ?? 'none', target, fstype: mount.fstype ?? 'none', flags: mount.flags ?? ['bind'], data: mount.data });
  }

  /** Specs of every pause started (calls that failed are not included), in order. */
  startedPauses(): PauseSpec[] {
    return [...this.pauseSpecs];
  }

  /** Fake pause processes still running. */
  liveProcesses(): readonly FakeProcess[] {
    return [...this.processes.values()];
  }

  /** Whether fake process `pid` is running. */
  isAlive(pid: number): boolean {
    return this.processes.has(pid);
  }

  /** Makes fake process `pid` exit: its watchers fire once, synchronously. False if not running. */
  exitProcess(pid: number): boolean {
    if (!this.processes.delete(pid)) return false;
    const callbacks = [...(this.watchers.get(pid) ?? [])];
    this.watchers.delete(pid);
    for (const callback of callbacks) callback();
    return true;
  }

  async mount(source: string, target: string, fstype: string, flags: readonly MountFlag[], data?: string): Promise<void> {
    this.record('mount', [source, target, fstype, [...flags], data]);
    const onlyPropagation = flags.length > 0 && flags.every((flag) => PROPAGATION_FLAGS.includes(flag));
    if (onlyPropagation) {
      if (!this.topMountAt(target)) throw fakeNativeError('EINVAL', `mount ${source} on ${target}`);
      return;
    }
    if (flags.includes('remount')) {
      const existing = this.topMountAt(target);
      if (!existing) throw fakeNativeError('EINVAL', `mount ${source} on ${target}`);
      existing.flags = flags.filter((flag) => flag !== 'remount');
      if (data !== undefined) existing.data = data;
      return;
    }
    this.mounts.push({ source, target, fstype, flags: [...flags], data });
  }

  async unmount(target: string, flags: readonly UnmountFlag[] = []): Promise<void> {
    this.record('unmount', [target, [...flags]]);
    const index = this.mounts.map((m) => m.target).lastIndexOf(target);
    if (index < 0) throw fakeNativeError('EINVAL', `umount2 ${target}`);
    this.mounts.splice(index, 1);
  }

  async mknod(path: string, mode: number, major: number, minor: number): Promise<void> {
    this.record('mknod', [path, mode, major, minor]);
    if (!this.nodesOnDisk && this.nodes.has(path)) throw fakeNativeError('EEXIST', `mknod ${path}`);
    if (this.nodesOnDisk) {
      try {
        writeFileSync(path, '', { flag: 'wx' });
      } catch (error) {
        throw fakeNativeError((error as NodeJS.ErrnoException).code ?? 'EIO', `mknod ${path}`);
      }
    }
    this.nodes.set(path, { mode, major, minor });
  }

  /** Reads the real files (stats tests point it at a temp tree). */
  async readFiles(paths: readonly string[], maxBytes: number): Promise<Array<string | undefined>> {
    this.record('readFiles', [[...paths], maxBytes]);
    return Promise.all(paths.map((p) => fs.readFile(p).then((b) => b.subarray(0, maxBytes).toString('utf8'), () => undefined)));
  }

  async lsetxattr(path: string, name: string, value: Buffer): Promise<void> {
    this.record('lsetxattr', [path, name, Buffer.from(value)]);
    const attributes = this.xattrs.get(path) ?? new Map<string, Buffer>();
    attributes.set(name, Buffer.from(value));
    this.xattrs.set(path, attributes);
  }

  async lgetxattr(path: string, name: string): Promise<Buffer | undefined> {
    this.record('lgetxattr', [path, name]);
    const value = this.xattrs.get(path)?.get(name);
    return value === undefined ? undefined : Buffer.from(value);
  }

  async llistxattr(path: string): Promise<string[]> {
    this.record('llistxattr', [path]);
    return [...(this.xattrs.get(path)?.keys() ?? [])];
  }

  async idmapMount(source: string, target: string, userns: string | UserNamespaceMaps, readOnly = false): Promise<void> {
    this.record('idmapMount', [source, target, userns, readOnly]);
    this.mounts.push({ source, target, fstype: 'none', flags: readOnly ? ['bind', 'rdonly'] : ['bind'], data: undefined });
  }

  async startPause(spec: PauseSpec): Promise<PauseProcess> {
    this.record('startPause', [spec]);
    const pid = this.nextPid++;
    this.pauseSpecs.push(spec);
    if (this.writeCgroupProcs) for (const file of spec.cgroupProcs) appendFileSync(file, `${pid}\n`);
    if (!this.pauseExitsAtOnce) this.processes.set(pid, { pid, spec });
    return { pid };
  }

  /** A mount of a fake `nsfs` on the pin, so unpinning it works as with a real one. */
  async createNetns(pinPath: string): Promise<void> {
    this.record('createNetns', [pinPath]);
    this.mounts.push({ source: 'net', target: pinPath, fstype: 'nsfs', flags: ['bind'], data: undefined });
  }

  watchExit(pid: number, onExit: () => void): ExitWatch {
    this.record('watchExit', [pid, onExit]);
    if (!this.processes.has(pid)) throw fakeNativeError('ESRCH', `watchExit: pidfd_open ${pid}`);
    const set = this.watchers.get(pid) ?? new Set<() => void>();
    // Wrap so the same callback registered twice fires twice, as with two real watches.
    const entry = (): void => onExit();
    set.add(entry);
    this.watchers.set(pid, set);
    return { close: () => void this.watchers.get(pid)?.delete(entry) };
  }

  async connectInNetns(netnsPath: string, host: string, port: number): Promise<number> {
    this.record('connectInNetns', [netnsPath, host, port]);
    return this.connectHandler(netnsPath, host, port);
  }

  openPty(): PtyPair {
    this.record('openPty', []);
    const master = this.nextFd++;
    return { master, slave: this.nextFd++, slavePath: `/dev/pts/fake${master}` };
  }

  setWindowSize(fd: number, rows: number, cols: number): void {
    this.record('setWindowSize', [fd, rows, cols]);
    this.windowSizes.set(fd, { rows, cols });
  }

  async connectSeqpacket(path: string, handlers: SeqpacketHandlers): Promise<SeqpacketSocket> {
    this.record('connectSeqpacket', [path]);
    return this.peerSocket(path, handlers);
  }

  /** Like connectSeqpacket; the peer's path is `fd:<n>`. */
  streamFd(fd: number, handlers: SeqpacketHandlers): SeqpacketSocket {
    this.record('streamFd', [fd]);
    return this.peerSocket(`fd:${fd}`, handlers);
  }

  spawnProcess(file: string, argv: readonly string[], env: readonly string[], cwd: string, fds: readonly number[], newSession: boolean): number {
    this.record('spawnProcess', [file, [...argv], [...env], cwd, [...fds], newSession]);
    const pid = this.nextPid++;
    this.children.set(pid, []);
    return pid;
  }

  makePipe(): [number, number] {
    this.record('makePipe', []);
    return [this.nextFd++, this.nextFd++];
  }

  watchChild(pid: number, onExit: ChildExitCallback): ExitWatch {
    this.record('watchChild', [pid, onExit]);
    const list = this.children.get(pid);
    if (!list) throw fakeNativeError('ESRCH', `watchChild: pidfd_open ${pid}`);
    list.push(onExit);
    return { close: () => void this.children.set(pid, (this.children.get(pid) ?? []).filter((cb) => cb !== onExit)) };
  }

  sealedCopy(file: string): Promise<number> {
    this.record('sealedCopy', [file]);
    return Promise.resolve(this.nextFd++);
  }

  reduceMemory(): void {
    this.record('reduceMemory', []);
    this.memoryReductions += 1;
  }

  /** Ends fake child `pid` of spawnProcess with an exit code or a signal number; false if not running. */
  exitChild(pid: number, exitCode: number | null, signal: number | null = null): boolean {
    const callbacks = this.children.get(pid);
    if (!callbacks) return false;
    this.children.delete(pid);
    for (const callback of callbacks) callback(exitCode, signal);
    return true;
  }

  /** The fake starts no process: it refuses like a host without the addon's support. */
  async execInContainer(spec: ContainerExecSpec): Promise<ContainerExecProcess> {
    this.record('execInContainer', [spec]);
    throw fakeNativeError('ENOSYS', 'execInContainer (fake)');
  }

  async readSeccompFilters(pid: number): Promise<Buffer[]> {
    this.record('readSeccompFilters', [pid]);
    throw fakeNativeError('ENOSYS', 'readSeccompFilters (fake)');
  }

  private peerSocket(path: string, handlers: SeqpacketHandlers): SeqpacketSocket {
    const peer = new FakeSeqpacketPeer(path, handlers);
    this.seqpacketPeers.push(peer);
    return {
      send: async (packet: Buffer) => {
        if (peer.closed) throw fakeNativeError('EBADF', 'seqpacket socket: send after close');
        peer.received.push(Buffer.from(packet));
      },
      shutdownWrite: () => void (peer.writeShutdown = true),
      pause: () => void (peer.paused = true),
      resume: () => void (peer.paused = false),
      close: () => void (peer.closed = true),
    };
  }

  /** Records a call and throws an injected failure (async methods reject with it). */
  private record(method: NativeMethod, args: unknown[]): void {
    this.calls.push({ method, args });
    const list = this.failures.get(method);
    const index = list?.findIndex((entry) => !entry.when || entry.when(args)) ?? -1;
    if (!list || index < 0) return;
    const failure = list[index];
    failure.remaining -= 1;
    if (failure.remaining <= 0) list.splice(index, 1);
    throw failure.error;
  }

  private topMountAt(target: string): FakeMount | undefined {
    for (let i = this.mounts.length - 1; i >= 0; i--) if (this.mounts[i].target === target) return this.mounts[i];
    return undefined;
  }
}
