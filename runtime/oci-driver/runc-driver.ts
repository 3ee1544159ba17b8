/**
 * The OCI runtime driver for runc and crun: every invocation's argv comes from argv.ts, and for
 * runc some commands are done on its state directory instead of spawning it (state-dir.ts):
 * start through exec.fifo, kill of the init named in state.json, delete of a stopped container.
 * `create` runs inside conmon (runtime/conmon.ts), with the global flags this driver gives it.
 * Failures become typed errors in runc-errors.ts.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeadlineExceededError, FailedPreconditionError, RuntimeError, type BerthError } from '../../common/errors';
import type { NativeError } from '../../native/binding';
import { constants as osConstants } from 'node:os';
import type { OciProcess } from '../spec/oci-types';
import { runcExecSync } from '../exec-sync-run';
import type { ExecResult, OciRuntimeDriver, PreparedExec, RuncState } from '../oci-runtime';
import { runcError } from '../runc-errors';
import { runCommand } from '../run-command';
import type { OciResources } from '../spec/oci-types';
import { conmonRuntimeArgs, runtimeArgv, type RuntimeCommand, type RuntimeGlobals } from './argv';
import { containerExecSpec, containerFrozen, containerInit, initRunning, SeccompFilterCache, tracersExcluded, UseRuntimeExec, type ContainerInit, type ExecNative } from './native-exec';
import { SealedBinary, type SealedCopier } from './sealed-binary';
import { containerProcsFile, deleteStoppedDirectly, isPlainId, signalInitDirectly, startViaExecFifo } from './state-dir';

/** How long a start through the exec fifo waits for the container's init before giving up. */
const EXEC_FIFO_TIMEOUT_MS = 10_000;
/** How long `--version` may take. */
const VERSION_TIMEOUT_MS = 5000;

/** runc/crun CLI driver. */
export class RuncDriver implements OciRuntimeDriver {
  /**
   * runc only: start through its exec fifo (startViaExecFifo), signal its init directly
   * (signalInitDirectly) and delete a stopped container's cgroups and state directly
   * (deleteStoppedDirectly) instead of spawning `runc start` / `runc kill` / `runc delete`.
   */
  private readonly directOps: boolean;
  private readonly globals: RuntimeGlobals;
  private versionText: Promise<string | undefined> | undefined;
  /** runc only, with the addon: ExecSync through execInContainer (native-exec.ts). */
  private readonly nativeExec:
    | { native: ExecNative; filters: SeccompFilterCache; inits: Map<string, ContainerInit>; onFallback: (id: string, reason: string) => void }
    | undefined;
  private readonly fallbackLogged = new Set<string>();
  /** runc only, with `sealedCopy`: what conmon and `runc exec` run (sealed-binary.ts). */
  private readonly sealed: SealedBinary | undefined;

  constructor(
    readonly binary: string,
    readonly root: string,
    opts: { directOps?: boolean; native?: ExecNative; sealedCopy?: SealedCopier; logFallback?: (message: string, fields: Record<string, string>) => void } = {},
  ) {
    this.directOps = opts.directOps ?? path.basename(binary) === 'runc';
    this.globals = { root };
    this.sealed =
      opts.sealedCopy && this.directOps
        ? new SealedBinary(binary, opts.sealedCopy, (reason) => opts.logFallback?.('runc runs from its file, without a sealed copy', { binary, reason }))
        : undefined;
    const native = opts.native;
    this.nativeExec =
      native && this.directOps
        ? {
            native,
            filters: new SeccompFilterCache(native),
            inits: new Map(),
            onFallback: (id, reason) => {
              // logged once per container and reason
              if (this.fallbackLogged.has(`${id}:${reason}`)) return;
              this.fallbackLogged.add(`${id}:${reason}`);
              opts.logFallback?.('ExecSync runs runc exec', { container: id, reason });
            },
          }
        : undefined;
  }

  /** The argv (after the binary) of `cmd` (exported for tests through the driver). */
  argv(cmd: RuntimeCommand): string[] {
    return runtimeArgv(this.globals, cmd);
  }

  conmonRuntimeArgs(): string[] {
    return conmonRuntimeArgs(this.globals);
  }

  /** What to execute for commands that start `runc init` (create through conmon, exec): the sealed copy when there is one. */
  execPath(): Promise<string> {
    return this.sealed ? this.sealed.path() : Promise.resolve(this.binary);
  }

  /** Closes the sealed copy of the binary, if any. */
  dispose(): void {
    this.sealed?.dispose();
  }

  /** `<runtime> --version` output (asked once); undefined when the binary does not answer. */
  version(): Promise<string | undefined> {
    this.versionText ??= runCommand(this.binary, this.argv({ verb: 'version' }), { timeoutMs: VERSION_TIMEOUT_MS }).then(
      (r) => r.stdout.toString(),
      () => undefined,
    );
    return this.versionText;
  }

  private async run(cmd: RuntimeCommand & { id: string }, input?: string): Promise<string> {
    const r = await runCommand(this.binary, this.argv(cmd), { input });
    if (r.exitCode !== 0) throw runcError(cmd.verb, cmd.id, r.stderr.toString() + r.stdout.toString(), r.exitCode);
    return r.stdout.toString();
  }

  private stateDir(id: string): string | undefined {
    return isPlainId(id) ? path.join(this.root, id) : undefined;
  }

  async start(id: string, initPid?: number): Promise<void> {
    const dir = this.stateDir(id);
    if (this.directOps && dir && (await startViaExecFifo(dir, id, initPid, EXEC_FIFO_TIMEOUT_MS))) return;
    await this.run({ verb: 'start', id });
  }

  async kill(id: string, signal: string): Promise<void> {
    const dir = this.stateDir(id);
    if (this.directOps && dir && (await signalInitDirectly(dir, signal))) return;
    await this.run({ verb: 'kill', id, signal });
  }

  async delete(id: string, force: boolean): Promise<void> {
    this.nativeExec?.filters.forget(id);
    this.nativeExec?.inits.delete(id);
    for (const key of this.fallbackLogged) if (key.startsWith(`${id}:`)) this.fallbackLogged.delete(key);
    const dir = this.stateDir(id);
    if (this.directOps && dir && (await deleteStoppedDirectly(dir, { force }))) return;
    const r = await runCommand(this.binary, this.argv({ verb: 'delete', id, force }));
    if (r.exitCode === 0) return;
    const err = runcError('delete', id, r.stderr.toString(), r.exitCode);
    if (err.kind === 'NotFound') return; // already gone: Remove is idempotent
    throw err;
  }

  async state(id: string): Promise<RuncState | undefined> {
    const r = await runCommand(this.binary, this.argv({ verb: 'state', id }));
    if (r.exitCode !== 0) {
      const err = runcError('state', id, r.stderr.toString(), r.exitCode);
      if (err.kind === 'NotFound') return undefined;
      throw err;
    }
    return JSON.parse(r.stdout.toString()) as RuncState;
  }

  async update(id: string, resources: OciResources): Promise<void> {
    await this.run({ verb: 'update', id }, JSON.stringify(resources));
  }

  async prepareExec(id: string, process: object, opts: { tty: boolean }): Promise<PreparedExec> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), opts.tty ? 'berth-exec-tty-' : 'berth-exec-'));
    const processFile = path.join(dir, 'process.json');
    const pidFile = path.join(dir, 'pid');
    const logFile = path.join(dir, 'runtime.log');
    try {
      await fs.writeFile(processFile, JSON.stringify(process));
    } catch (err) {
      await fs.rm(dir, { recursive: true, force: true });
      throw new RuntimeError(`exec in container ${id}: write its process file`, { cause: err });
    }
    return {
      file: await this.execPath(),
      args: this.argv({ verb: 'exec', id, processFile, pidFile, logFile, tty: opts.tty }),
      pidFile,
      runtimeFailure: (exitCode) => execFailure(id, exitCode, pidFile, logFile),
      dispose: () => fs.rm(dir, { recursive: true, force: true }),
    };
  }

  async exec(id: string, proc: object, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult> {
    const dir = this.stateDir(id);
    if (this.nativeExec && dir) {
      const r = await this.execNatively(id, dir, proc as OciProcess, opts);
      if (!(r instanceof UseRuntimeExec)) return r;
      this.nativeExec.onFallback(id, r.reason);
    }
    return this.execThroughRuntime(id, proc, opts);
  }

  /** ExecSync through the addon (native-exec.ts), or why runc must run it. */
  private async execNatively(id: string, dir: string, proc: OciProcess, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult | UseRuntimeExec> {
    const ne = this.nativeExec!;
    // state.json (~30 KB with a seccomp profile) is read once per init, not per exec
    let init = ne.inits.get(id);
    if (!init || !(await initRunning(init))) {
      const read = await containerInit(dir);
      if (read instanceof UseRuntimeExec) return read;
      ne.inits.set(id, (init = read));
    }
    const frozen = await containerFrozen(init);
    if (frozen) return frozen;
    const safe = await tracersExcluded(init.pid, proc.capabilities?.bounding);
    if (safe instanceof UseRuntimeExec) return safe;
    const filters = await ne.filters.get(id, init);
    if (filters instanceof UseRuntimeExec) return filters;
    const spec = await containerExecSpec(proc, init, filters);
    if (spec instanceof UseRuntimeExec) return spec;
    let started;
    try {
      started = await ne.native.execInContainer(spec);
    } catch (err) {
      const e = err as NativeError;
      // what runc says of a program it cannot execute: the same typed error (InvalidArgument)
      if (/^execInContainer: execve /.test(e.message)) {
        const why = e.code === 'ENOENT' ? (spec.args[0].includes('/') ? `stat ${spec.args[0]}: no such file or directory` : 'executable file not found in $PATH') : e.code === 'EACCES' ? 'permission denied' : e.message;
        throw runcError('exec', id, `exec failed: unable to start container process: exec: "${spec.args[0]}": ${why}`, 255);
      }
      if (!(await initRunning(init))) throw new FailedPreconditionError(`exec in container ${id}: container not running`, { cause: err });
      return new UseRuntimeExec(`the addon could not start it (${e.message})`);
    }
    const findProcsFile = () => containerProcsFile(dir);
    const child = { pid: started.pid, pipes: [undefined, started.stdout, started.stderr], exited: started.exited };
    const r = await runcExecSync({ binary: '', args: [], pidFile: '', direct: { child, outputPipes: new Set(started.pipeNames) }, timeoutMs: opts.timeoutMs, maxOutputBytes: opts.maxOutputBytes, scope: { findProcsFile } });
    if (r.timedOut) {
      const left = r.leftovers ? ' (some of its processes could not be killed)' : '';
      throw new DeadlineExceededError(`exec in container ${id}: command timed out after ${opts.timeoutMs} ms${left}`);
    }
    // as runc reports it: a command killed by a signal exits 128+signal
    const exitCode = r.exit.exitCode ?? 128 + (r.exit.signal ? osConstants.signals[r.exit.signal] : 9);
    return { exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  private async execThroughRuntime(id: string, proc: object, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult> {
    const exec = await this.prepareExec(id, proc, { tty: false });
    try {
      // state.json (~30 KB with a seccomp profile) is read only if the exec's processes must be
      // looked for: output holders after the command exited, or a timeout.
      const dir = this.stateDir(id);
      let procsFile: Promise<string | undefined> | undefined;
      const findProcsFile = () => (procsFile ??= dir ? containerProcsFile(dir) : Promise.resolve(undefined));
      const r = await runcExecSync({ binary: exec.file, args: exec.args, pidFile: exec.pidFile, timeoutMs: opts.timeoutMs, maxOutputBytes: opts.maxOutputBytes, scope: { findProcsFile } });
      if (r.timedOut) {
        const left = r.leftovers ? ' (some of its processes could not be killed)' : '';
        throw new DeadlineExceededError(`exec in container ${id}: command timed out after ${opts.timeoutMs} ms${left}`);
      }
      if (r.exit.exitCode === null) throw new RuntimeError(`exec in container ${id}: runc was killed by ${r.exit.signal}`);
      const failure = await exec.runtimeFailure(r.exit.exitCode);
      if (failure) throw failure;
      return { exitCode: r.exit.exitCode, stdout: r.stdout, stderr: r.stderr };
    } finally {
      await exec.dispose();
    }
  }
}

/**
 * The runtime's own failure to start an exec'd process: a non-zero exit with no pid file (the
 * runtime writes it once the process started; after that the exit code is the process's own),
 * explained by the runtime's log. A process printing runtime-like errors cannot fake one.
 */
async function execFailure(id: string, exitCode: number | null, pidFile: string, logFile: string): Promise<BerthError | undefined> {
  if (exitCode === 0) return undefined;
  if (await fs.access(pidFile).then(() => true, () => false)) return undefined;
  const log = await fs.readFile(logFile, 'utf8').catch(() => '');
  return runcError('exec', id, log, exitCode);
}
