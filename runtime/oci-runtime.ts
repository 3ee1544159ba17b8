/**
 * The OCI runtime driver: runc (or crun) through its CLI. `create` happens inside conmon
 * (runtime/conmon.ts); this driver does start, kill, delete, state, update and exec. Each
 * handler has its own `--root` under the run root. Failures become typed errors in runc-errors.ts.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeadlineExceededError, RuntimeError, errnoCode } from '../common/errors';
import { runcError } from './runc-errors';
import { runCommand } from './run-command';
import type { OciProcess, OciResources } from './spec/oci-types';

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

/** What the container manager needs of an OCI runtime. */
export interface OciRuntimeDriver {
  /** Path of the runtime binary (passed to conmon). */
  readonly binary: string;
  /** The runtime's --root directory. */
  readonly root: string;
  start(id: string): Promise<void>;
  /** Sends `signal` (e.g. "TERM", "KILL") to the init process; NotFound/FailedPrecondition when gone. */
  kill(id: string, signal: string): Promise<void>;
  /** Deletes the container; succeeds when it does not exist. */
  delete(id: string, force: boolean): Promise<void>;
  /** undefined when runc does not know the container. */
  state(id: string): Promise<RuncState | undefined>;
  update(id: string, resources: OciResources): Promise<void>;
  /** Runs `process` in the container; DeadlineExceededError after `timeoutMs` (the process is killed). */
  exec(id: string, process: OciProcess, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult>;
}

/** runc/crun CLI driver. */
export class RuncDriver implements OciRuntimeDriver {
  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  private args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  private async run(verb: string, id: string, args: string[], input?: string): Promise<string> {
    const r = await runCommand(this.binary, this.args(...args), { input });
    if (r.exitCode !== 0) throw runcError(verb, id, r.stderr.toString() + r.stdout.toString(), r.exitCode);
    return r.stdout.toString();
  }

  async start(id: string): Promise<void> {
    await this.run('start', id, ['start', id]);
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.run('kill', id, ['kill', id, signal]);
  }

  async delete(id: string, force: boolean): Promise<void> {
    const r = await runCommand(this.binary, this.args('delete', ...(force ? ['--force'] : []), id));
    if (r.exitCode === 0) return;
    const err = runcError('delete', id, r.stderr.toString(), r.exitCode);
    if (err.kind === 'NotFound') return; // already gone: Remove is idempotent
    throw err;
  }

  async state(id: string): Promise<RuncState | undefined> {
    const r = await runCommand(this.binary, this.args('state', id));
    if (r.exitCode !== 0) {
      const err = runcError('state', id, r.stderr.toString(), r.exitCode);
      if (err.kind === 'NotFound') return undefined;
      throw err;
    }
    return JSON.parse(r.stdout.toString()) as RuncState;
  }

  async update(id: string, resources: OciResources): Promise<void> {
    await this.run('update', id, ['update', '--resources', '-', id], JSON.stringify(resources));
  }

  async exec(id: string, proc: OciProcess, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-exec-'));
    try {
      const processFile = path.join(dir, 'process.json');
      const pidFile = path.join(dir, 'pid');
      await fs.writeFile(processFile, JSON.stringify(proc));
      const r = await runCommand(this.binary, this.args('exec', '--process', processFile, '--pid-file', pidFile, id), {
        timeoutMs: opts.timeoutMs,
        maxOutputBytes: opts.maxOutputBytes,
        // runc exec cannot forward SIGKILL: kill the exec'd process itself, then runc exits.
        onTimeout: async () => killPidFile(pidFile),
      });
      if (r.timedOut) {
        throw new DeadlineExceededError(`exec in container ${id}: command timed out after ${opts.timeoutMs} ms`);
      }
      if (r.exitCode === null) throw new RuntimeError(`exec in container ${id}: runc was killed by ${r.signal}`);
      // runc exits 255 with its own message when it could not start the process at all.
      if (r.exitCode === 255 && /level=(error|fatal)/.test(r.stderr.toString())) {
        throw runcError('exec', id, r.stderr.toString(), r.exitCode);
      }
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

async function killPidFile(pidFile: string): Promise<void> {
  try {
    const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ESRCH') throw err;
  }
}
