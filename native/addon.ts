/**
 * The real NativeBinding: a typed wrapper over the berth_native addon (native/src/, built by
 * `npm run build:native` into native/build/Release/). Mount flags are mapped to MS_* numbers
 * here; addon errors become NativeError.
 *
 * Where the build is found: $BERTH_NATIVE_BUILD_DIR when set, else `native/build/Release` under
 * the first directory holding `native/binding.gyp` or `native/build/Release/berth_native.node`,
 * walking up from this file (works from the source tree, from dist/ and from an installed copy
 * that keeps that layout), then from the working directory.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';

import {
  NativeError,
  type ContainerExecProcess,
  type ContainerExecSpec,
  type ExitWatch,
  type MountFlag,
  type NativeBinding,
  type PauseProcess,
  type PauseSpec,
  type PtyPair,
  type SeqpacketHandlers,
  type SeqpacketSocket,
  type UnmountFlag,
  type UserNamespaceMaps,
} from './binding';
import { ChannelSeqpacketSocket, type RawSeqpacketChannelClass } from './seqpacket-socket';

/** The addon's raw exports (numbers for flags; errors are plain Errors with code/errno). */
export interface RawAddon {
  mount(source: string, target: string, fstype: string, flags: number, data?: string): Promise<void>;
  umount2(target: string, flags: number): Promise<void>;
  mknod(path: string, mode: number, major: number, minor: number): Promise<void>;
  lsetxattr(path: string, name: string, value: Buffer): Promise<void>;
  lgetxattr(path: string, name: string): Promise<Buffer | undefined>;
  llistxattr(path: string): Promise<string[]>;
  startPause(spec: PauseSpec): Promise<number>;
  idmapMount(source: string, target: string, userns: string | UserNamespaceMaps, readOnly: boolean): Promise<void>;
  watchExit(pid: number, onExit: () => void): { close(): void };
  /** Like watchExit for a child of ours (spawnProcess), which it reaps: (exit code, or null; signal number, or null). */
  watchChild(pid: number, onExit: (exitCode: number | null, signal: number | null) => void): { close(): void };
  /** posix_spawn of `file` (a path); child fd i = fds[i] (-1: /dev/null), other fds closed on exec. Returns the pid. */
  spawnProcess(file: string, argv: string[], env: string[], cwd: string, fds: number[], newSession: boolean): number;
  /** pipe2(O_CLOEXEC): [readFd, writeFd]. */
  makePipe(): [number, number];
  /** V8 LowMemoryNotification + malloc_trim(0): shrinks the heap after a burst (synchronous, tens of ms). */
  reduceMemory(): void;
  connectInNetns(netnsPath: string, host: string, port: number): Promise<number>;
  openPty(): PtyPair;
  setWindowSize(fd: number, rows: number, cols: number): void;
  connectSeqpacket(path: string): Promise<number>;
  SeqpacketChannel: RawSeqpacketChannelClass;
  execInContainer(spec: ContainerExecSpec): Promise<{ pid: number; stdoutFd: number; stderrFd: number }>;
  readSeccompFilters(pid: number): Promise<Buffer[]>;
}

/** MS_* values from <sys/mount.h>. */
export const MOUNT_FLAG_BITS: Readonly<Record<MountFlag, number>> = {
  rdonly: 0x1,
  nosuid: 0x2,
  nodev: 0x4,
  noexec: 0x8,
  remount: 0x20,
  bind: 0x1000,
  rec: 0x4000,
  private: 0x40000,
  rprivate: 0x40000 | 0x4000,
  slave: 0x80000,
  rslave: 0x80000 | 0x4000,
  shared: 0x100000,
  rshared: 0x100000 | 0x4000,
  relatime: 0x200000,
};

/** MNT_FORCE, MNT_DETACH, UMOUNT_NOFOLLOW. */
export const UNMOUNT_FLAG_BITS: Readonly<Record<UnmountFlag, number>> = {
  force: 0x1,
  detach: 0x2,
  nofollow: 0x8,
};

/** ORs the MS_* bits of `flags`; throws TypeError on an unknown flag. */
export function mountFlagBits(flags: readonly MountFlag[]): number {
  let bits = 0;
  for (const flag of flags) {
    const bit = MOUNT_FLAG_BITS[flag];
    if (bit === undefined) throw new TypeError(`mount: unknown flag '${String(flag)}'`);
    bits |= bit;
  }
  return bits >>> 0;
}

/** ORs the umount2 bits of `flags`; throws TypeError on an unknown flag. */
export function unmountFlagBits(flags: readonly UnmountFlag[]): number {
  let bits = 0;
  for (const flag of flags) {
    const bit = UNMOUNT_FLAG_BITS[flag];
    if (bit === undefined) throw new TypeError(`unmount: unknown flag '${String(flag)}'`);
    bits |= bit;
  }
  return bits;
}

/** Turns an addon error (code/errno properties) into a NativeError; TypeErrors pass through. */
export function toNativeError(error: unknown): unknown {
  if (error instanceof NativeError || error instanceof TypeError) return error;
  if (error instanceof Error) {
    const fields = error as Error & { code?: unknown; errno?: unknown };
    if (typeof fields.code === 'string' && typeof fields.errno === 'number') {
      const converted = new NativeError(error.message, fields.code, fields.errno);
      converted.stack = error.stack;
      return converted;
    }
    return new NativeError(error.message, 'EUNKNOWN', 0);
  }
  return new NativeError(String(error), 'EUNKNOWN', 0);
}

/** Directory holding berth_native.node and pause. */
export function nativeBuildDirectory(): string {
  const override = process.env.BERTH_NATIVE_BUILD_DIR;
  if (override) return override;
  for (const start of [__dirname, process.cwd()]) {
    let dir = start;
    for (;;) {
      const release = path.join(dir, 'native', 'build', 'Release');
      // binding.gyp marks a source tree; the built addon alone marks an installed copy.
      if (fs.existsSync(path.join(dir, 'native', 'binding.gyp')) || fs.existsSync(path.join(release, 'berth_native.node'))) {
        return release;
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new NativeError(
    `locate native build: no native/binding.gyp above ${__dirname} or ${process.cwd()} (set BERTH_NATIVE_BUILD_DIR)`,
    'ENOENT',
    2,
  );
}

/** Absolute path of the pause executable (native/build/Release/pause). */
export function pauseExecutablePath(): string {
  return path.join(nativeBuildDirectory(), 'pause');
}

let cachedAddon: RawAddon | undefined;

/** Loads the raw addon once; a clear NativeError when it was not built. */
export function loadRawAddon(): RawAddon {
  if (cachedAddon) return cachedAddon;
  const file = path.join(nativeBuildDirectory(), 'berth_native.node');
  if (!fs.existsSync(file)) {
    throw new NativeError(`load native addon: ${file} does not exist (run \`npm run build:native\`)`, 'ENOENT', 2);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cachedAddon = require(file) as RawAddon;
  return cachedAddon;
}

/** Whether the addon has been built (loadRawAddon would find it). */
export function nativeAddonAvailable(): boolean {
  return cachedAddon !== undefined || fs.existsSync(path.join(nativeBuildDirectory(), 'berth_native.node'));
}

/** Runs an addon call, converting both synchronous throws and rejections to NativeError. */
async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toNativeError(error);
  }
}

/** The NativeBinding backed by the addon. */
export class AddonNativeBinding implements NativeBinding {
  constructor(private readonly addon: RawAddon) {}

  mount(source: string, target: string, fstype: string, flags: readonly MountFlag[], data?: string): Promise<void> {
    return call(() => this.addon.mount(source, target, fstype, mountFlagBits(flags), data));
  }

  unmount(target: string, flags: readonly UnmountFlag[] = []): Promise<void> {
    return call(() => this.addon.umount2(target, unmountFlagBits(flags)));
  }

  mknod(filePath: string, mode: number, major: number, minor: number): Promise<void> {
    return call(() => this.addon.mknod(filePath, mode, major, minor));
  }

  lsetxattr(filePath: string, name: string, value: Buffer): Promise<void> {
    return call(() => this.addon.lsetxattr(filePath, name, value));
  }

  lgetxattr(filePath: string, name: string): Promise<Buffer | undefined> {
    return call(() => this.addon.lgetxattr(filePath, name));
  }

  llistxattr(filePath: string): Promise<string[]> {
    return call(() => this.addon.llistxattr(filePath));
  }

  idmapMount(source: string, target: string, userns: string | UserNamespaceMaps, readOnly = false): Promise<void> {
    return call(() => this.addon.idmapMount(source, target, userns, readOnly));
  }

  async startPause(spec: PauseSpec): Promise<PauseProcess> {
    const pid = await call(() => this.addon.startPause(spec));
    return { pid };
  }

  /** Throws NativeError (code 'ESRCH') synchronously when the process is already gone. */
  watchExit(pid: number, onExit: () => void): ExitWatch {
    try {
      const handle = this.addon.watchExit(pid, onExit);
      return { close: () => handle.close() };
    } catch (error) {
      throw toNativeError(error);
    }
  }

  connectInNetns(netnsPath: string, host: string, port: number): Promise<number> {
    return call(() => this.addon.connectInNetns(netnsPath, host, port));
  }

  openPty(): PtyPair {
    return callSync(() => this.addon.openPty());
  }

  setWindowSize(fd: number, rows: number, cols: number): void {
    callSync(() => this.addon.setWindowSize(fd, rows, cols));
  }

  async connectSeqpacket(socketPath: string, handlers: SeqpacketHandlers): Promise<SeqpacketSocket> {
    const fd = await call(() => this.addon.connectSeqpacket(socketPath));
    try {
      return this.streamFd(fd, handlers);
    } catch (error) {
      fs.closeSync(fd); // the channel never took ownership
      throw error;
    }
  }

  streamFd(fd: number, handlers: SeqpacketHandlers): SeqpacketSocket {
    return callSync(() => new ChannelSeqpacketSocket(this.addon.SeqpacketChannel, fd, handlers, toNativeError));
  }

  async execInContainer(spec: ContainerExecSpec): Promise<ContainerExecProcess> {
    const { pid, stdoutFd, stderrFd } = await call(() => this.addon.execInContainer(spec));
    // Registered before anything else can fail, so the child is always reaped.
    const exited = new Promise<ContainerExecProcess['exited'] extends Promise<infer E> ? E : never>((resolve) =>
      this.addon.watchChild(pid, (exitCode, signo) => resolve({ exitCode, signal: signo === null ? null : signalName(signo) })),
    );
    const pipeNames = [stdoutFd, stderrFd].map((fd) => `pipe:[${fs.fstatSync(fd).ino}]`);
    const stdout = new net.Socket({ fd: stdoutFd, readable: true, writable: false });
    const stderr = new net.Socket({ fd: stderrFd, readable: true, writable: false });
    return { pid, stdout, stderr, pipeNames, exited };
  }

  readSeccompFilters(pid: number): Promise<Buffer[]> {
    return call(() => this.addon.readSeccompFilters(pid));
  }
}

/** NodeJS.Signals name of a signal number (e.g. 9 → SIGKILL). */
export function signalName(signo: number): NodeJS.Signals | null {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === signo);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

/** Runs a synchronous addon call, converting its throw to NativeError. */
function callSync<T>(operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    throw toNativeError(error);
  }
}

/** The real NativeBinding (loads the addon on first call). */
export function loadNativeBinding(): NativeBinding {
  return new AddonNativeBinding(loadRawAddon());
}
