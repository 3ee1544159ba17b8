/**
 * The real NativeBinding: a typed wrapper over the berth_native addon (native/src/, built by
 * `npm run build:native` into native/build/Release/; found and checked by addon-loader.ts). Mount
 * flags are mapped to MS_* numbers here; addon errors become NativeError.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';

import {
  NativeError,
  type ChildExitCallback,
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
import { loadRawAddon, nativeBuildDirectory, type RawAddon } from './addon-loader';
import { ChannelSeqpacketSocket } from './seqpacket-socket';

export { loadRawAddon, nativeAddonPath, nativeAddonProblem, nativeBuildDirectory, type RawAddon } from './addon-loader';

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

/** Absolute path of the pause executable (native/build/Release/pause). */
export function pauseExecutablePath(): string {
  return path.join(nativeBuildDirectory(), 'pause');
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

  readFiles(paths: readonly string[], maxBytes: number): Promise<Array<string | undefined>> {
    return call(() => this.addon.readFiles(paths, maxBytes));
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

  createNetns(pinPath: string): Promise<void> {
    return call(() => this.addon.createNetns(pinPath));
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

  spawnProcess(file: string, argv: readonly string[], env: readonly string[], cwd: string, fds: readonly number[], newSession: boolean): number {
    return callSync(() => this.addon.spawnProcess(file, argv, env, cwd, fds, newSession));
  }

  makePipe(): [number, number] {
    return callSync(() => this.addon.makePipe());
  }

  watchChild(pid: number, onExit: ChildExitCallback): ExitWatch {
    const handle = callSync(() => this.addon.watchChild(pid, onExit));
    return { close: () => handle.close() };
  }

  reduceMemory(): void {
    callSync(() => this.addon.reduceMemory());
  }

  sealedCopy(file: string): Promise<number> {
    return call(() => this.addon.sealedCopy(file));
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

let shared: { addon: RawAddon; binding: NativeBinding } | undefined;

/** The real NativeBinding over the checked addon (loaded on first call; one instance per addon). */
export function loadNativeBinding(): NativeBinding {
  const addon = loadRawAddon();
  if (shared?.addon !== addon) shared = { addon, binding: new AddonNativeBinding(addon) };
  return shared.binding;
}
