import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ExecResult, OciRuntimeDriver, PreparedExec, RuncState } from '../oci-runtime';
import type { OciProcess, OciResources } from '../spec/oci-types';

/** A runtime whose "processes" exit when signalled, by writing conmon-style exit files. */
export class FakeRuntime implements OciRuntimeDriver {
  readonly binary = '/fake/runc';
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  /** Signals the fake process ignores (e.g. TERM). */
  ignore = new Set<string>();
  execResult: ExecResult = { exitCode: 0, stdout: Buffer.from('out'), stderr: Buffer.from('') };
  constructor(
    readonly root: string,
    private readonly exitDir: string,
  ) {}
  async start(id: string): Promise<void> {
    this.calls.push({ method: 'start', args: [id] });
  }
  async kill(id: string, signal: string): Promise<void> {
    this.calls.push({ method: 'kill', args: [id, signal] });
    if (this.ignore.has(signal)) return;
    const code = signal === 'KILL' ? 137 : 143;
    await fs.writeFile(path.join(this.exitDir, id), String(code));
  }
  async delete(id: string, force: boolean): Promise<void> {
    this.calls.push({ method: 'delete', args: [id, force] });
  }
  /** What `state` answers, by id (absent = unknown to the runtime). */
  readonly states = new Map<string, RuncState>();
  async state(id: string): Promise<RuncState | undefined> {
    this.calls.push({ method: 'state', args: [id] });
    return this.states.get(id);
  }
  async update(id: string, resources: OciResources): Promise<void> {
    this.calls.push({ method: 'update', args: [id, resources] });
  }
  async exec(id: string, proc: OciProcess, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult> {
    this.calls.push({ method: 'exec', args: [id, proc, opts] });
    return this.execResult;
  }
  async version(): Promise<string | undefined> {
    return 'runc version 1.1.5';
  }
  async execPath(): Promise<string> {
    return this.binary;
  }

  dispose(): void {}

  conmonRuntimeArgs(): string[] {
    return ['--runtime-arg', `--root=${this.root}`];
  }
  async prepareExec(id: string, proc: object, opts: { tty: boolean }): Promise<PreparedExec> {
    this.calls.push({ method: 'prepareExec', args: [id, proc, opts] });
    return { file: this.binary, args: ['exec', id], pidFile: path.join(this.root, `${id}.exec-pid`), runtimeFailure: async () => undefined, dispose: async () => undefined };
  }
}
