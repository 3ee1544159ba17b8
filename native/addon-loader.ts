/**
 * Finding, loading and checking the berth_native addon. The addon is required: berthd runs
 * `nativeAddonProblem()` first thing at start and stops when the file is missing, does not load,
 * lacks an op the TypeScript side calls, or carries another ABI marker (a stale build would
 * otherwise fail only when a pod first needs the missing op).
 *
 * Where the build is found: $BERTH_NATIVE_BUILD_DIR when set, else `native/build/Release` under
 * the first directory holding `native/binding.gyp` or `native/build/Release/berth_native.node`,
 * walking up from this file (works from the source tree, from dist/ and from an installed copy
 * that keeps that layout), then from the working directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { NativeError, type ChildExitCallback, type ContainerExecSpec, type PauseSpec, type PtyPair, type UserNamespaceMaps } from './binding';
import type { RawSeqpacketChannelClass } from './seqpacket-socket';

/** The ABI marker this TypeScript expects (`abiVersion` of native/src/addon.cc). */
export const NATIVE_ABI_VERSION = 7;

const REBUILD_HINT = 'rebuild with npm run build:native';

/** The addon's raw exports (numbers for flags; errors are plain Errors with code/errno). */
export interface RawAddon {
  readonly abiVersion: number;
  mount(source: string, target: string, fstype: string, flags: number, data?: string): Promise<void>;
  umount2(target: string, flags: number): Promise<void>;
  mknod(path: string, mode: number, major: number, minor: number): Promise<void>;
  readFiles(paths: readonly string[], maxBytes: number): Promise<Array<string | undefined>>;
  execInContainer(spec: ContainerExecSpec): Promise<{ pid: number; stdoutFd: number; stderrFd: number }>;
  readSeccompFilters(pid: number): Promise<Buffer[]>;
  sealedCopy(path: string): Promise<number>;
  lsetxattr(path: string, name: string, value: Buffer): Promise<void>;
  lgetxattr(path: string, name: string): Promise<Buffer | undefined>;
  llistxattr(path: string): Promise<string[]>;
  startPause(spec: PauseSpec): Promise<number>;
  createNetns(pinPath: string): Promise<void>;
  idmapMount(source: string, target: string, userns: string | UserNamespaceMaps, readOnly: boolean): Promise<void>;
  watchExit(pid: number, onExit: () => void): { close(): void };
  watchChild(pid: number, onExit: ChildExitCallback): { close(): void };
  spawnProcess(file: string, argv: readonly string[], env: readonly string[], cwd: string, fds: readonly number[], newSession: boolean): number;
  makePipe(): [number, number];
  reduceMemory(): void;
  limitMallocArenas(max: number): void;
  connectInNetns(netnsPath: string, host: string, port: number): Promise<number>;
  openPty(): PtyPair;
  setWindowSize(fd: number, rows: number, cols: number): void;
  connectSeqpacket(path: string): Promise<number>;
  SeqpacketChannel: RawSeqpacketChannelClass;
}

/** The function exports of RawAddon; a Record so that a new RawAddon op cannot be left out of the check. */
const RAW_OP_SET: Readonly<Record<Exclude<keyof RawAddon, 'abiVersion'>, true>> = {
  mount: true,
  umount2: true,
  mknod: true,
  readFiles: true,
  execInContainer: true,
  readSeccompFilters: true,
  sealedCopy: true,
  lsetxattr: true,
  lgetxattr: true,
  llistxattr: true,
  startPause: true,
  createNetns: true,
  idmapMount: true,
  watchExit: true,
  watchChild: true,
  spawnProcess: true,
  makePipe: true,
  reduceMemory: true,
  limitMallocArenas: true,
  connectInNetns: true,
  openPty: true,
  setWindowSize: true,
  connectSeqpacket: true,
  SeqpacketChannel: true,
};

/** Names of every function the addon must export. */
export const RAW_ADDON_OPS: readonly string[] = Object.keys(RAW_OP_SET);

/** Directory holding berth_native.node and pause. */
export function nativeBuildDirectory(): string {
  const override = process.env.BERTH_NATIVE_BUILD_DIR;
  if (override) return path.resolve(override);
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

/** Absolute path of the addon file (native/build/Release/berth_native.node). */
export function nativeAddonPath(): string {
  return path.join(nativeBuildDirectory(), 'berth_native.node');
}

/** What the addon file is loaded with (tests pass a fake). */
export type ModuleLoader = (file: string) => unknown;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireModule: ModuleLoader = (file) => require(file);

/**
 * Checks that `moduleExports` (what loading `file` gave) has every op and the expected ABI marker;
 * throws a NativeError naming the file and everything missing.
 */
export function checkAddonExports(file: string, moduleExports: unknown): RawAddon {
  if (typeof moduleExports !== 'object' || moduleExports === null) {
    throw new NativeError(`native addon ${file}: exports no object; ${REBUILD_HINT}`, 'ELIBBAD', 80);
  }
  const record = moduleExports as Record<string, unknown>;
  const missing = RAW_ADDON_OPS.filter((op) => typeof record[op] !== 'function');
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing op${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (record.abiVersion !== NATIVE_ABI_VERSION) {
    problems.push(`ABI version ${record.abiVersion === undefined ? 'missing' : String(record.abiVersion)}, expected ${NATIVE_ABI_VERSION}`);
  }
  if (problems.length > 0) throw new NativeError(`native addon ${file}: ${problems.join('; ')}; ${REBUILD_HINT}`, 'ELIBBAD', 80);
  return moduleExports as RawAddon;
}

/** Loads `file` with `load` and checks its moduleExports; every failure names the file. */
export function loadAddonFile(file: string, load: ModuleLoader = requireModule): RawAddon {
  if (!fs.existsSync(file)) throw new NativeError(`native addon ${file}: file does not exist; ${REBUILD_HINT}`, 'ENOENT', 2);
  let moduleExports: unknown;
  try {
    moduleExports = load(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new NativeError(`native addon ${file}: cannot load (${reason}); ${REBUILD_HINT}`, 'ELIBBAD', 80);
  }
  return checkAddonExports(file, moduleExports);
}

let cached: { file: string; addon: RawAddon } | undefined;

/** The checked raw addon, loaded once per path; throws a NativeError naming the file when it is unusable. */
export function loadRawAddon(): RawAddon {
  const file = nativeAddonPath();
  if (cached?.file === file) return cached.addon;
  const addon = loadAddonFile(file);
  cached = { file, addon };
  return addon;
}

/** Why the addon cannot be used (the message berthd exits with), or undefined when it can. */
export function nativeAddonProblem(load: () => unknown = loadRawAddon): string | undefined {
  try {
    load();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
