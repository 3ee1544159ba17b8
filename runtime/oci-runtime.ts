/**
 * What the container manager and the exec sessions need of an OCI runtime (runc, crun). The one
 * implementation is runtime/oci-driver/ (RuncDriver): it builds every runtime invocation and owns
 * the runtime's state directory. Each handler has its own `--root` under the run root.
 */
import type { BerthError } from '../common/errors';
import type { OciResources } from './spec/oci-types';

export { RuncDriver } from './oci-driver/runc-driver';

/** `runc state` output. */
export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  bundle: string;
  created: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** An exec whose process file is written: run `file args` (stdio is the process's), then dispose(). */
export interface PreparedExec {
  /** The runtime binary. */
  readonly file: string;
  /** Its argv after the binary. */
  readonly args: readonly string[];
  /** Where the runtime writes the exec'd process's pid once it started. */
  readonly pidFile: string;
  /** The runtime's own failure to start the process, or undefined when `exitCode` is the process's. */
  runtimeFailure(exitCode: number | null): Promise<BerthError | undefined>;
  /** Removes the exec's files. */
  dispose(): Promise<void>;
}

/** What the container manager needs of an OCI runtime. */
export interface OciRuntimeDriver {
  /** Path of the runtime binary (passed to conmon). */
  readonly binary: string;
  /** The runtime flags conmon passes before `create` (as `--runtime-arg` pairs). */
  conmonRuntimeArgs(): string[];
  /** The path conmon executes for `create` (the binary, or a sealed copy of it). */
  execPath(): Promise<string>;
  /** Releases what the driver holds (containers keep running). */
  dispose(): void;
  /** `--version` output; undefined when the binary does not answer. */
  version(): Promise<string | undefined>;
  /** Lets the created container run; `initPid` (the pid conmon reported) lets a start notice a dead init. */
  start(id: string, initPid?: number): Promise<void>;
  /** Sends `signal` (e.g. "TERM", "KILL") to the init process; NotFound/FailedPrecondition when gone. */
  kill(id: string, signal: string): Promise<void>;
  /** Deletes the container; succeeds when it does not exist. */
  delete(id: string, force: boolean): Promise<void>;
  /** undefined when runc does not know the container. */
  state(id: string): Promise<RuncState | undefined>;
  update(id: string, resources: OciResources): Promise<void>;
  /** Runs `process` in the container; DeadlineExceededError after `timeoutMs` (the process is killed); `maxOutputBytes` caps stdout and stderr together. */
  exec(id: string, process: object, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult>;
  /** Writes `process` (OCI process JSON) for an exec with or without a terminal and returns how to run it. */
  prepareExec(id: string, process: object, opts: { tty: boolean }): Promise<PreparedExec>;
}

