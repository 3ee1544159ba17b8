/** Fakes of the manager's collaborators for unit tests (sandboxes, images, runtime, conmon); the native fake is native/testing/fake-native.ts. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { NotFoundError } from '../common/errors';
import type { ConmonLaunch, ConmonStarted, ContainerMonitorLauncher } from './conmon';
import type { ImageLookup, ResolvedImage, SandboxLookup, SandboxView } from './interfaces';
import type { ExecResult, OciRuntimeDriver, PreparedExec, RuncState } from './oci-runtime';
import type { OciProcess, OciResources } from './spec/oci-types';

export class FakeSandboxes implements SandboxLookup {
  readonly pods = new Map<string, SandboxView>();
  add(pod: Partial<SandboxView> & { id: string }, logDirectory: string): SandboxView {
    const full: SandboxView = {
      name: `pod-${pod.id}`,
      namespace: 'default',
      uid: `uid-${pod.id}`,
      attempt: 0,
      state: 'ready',
      runtimeHandler: '',
      namespacePaths: {},
      cgroupParent: '/berth-test',
      hostnamePath: '',
      hostsPath: '',
      resolvConfPath: '',
      logDirectory,
      config: { hostname: 'h' },
      ...pod,
    };
    this.pods.set(pod.id, full);
    return full;
  }
  getSandbox(id: string): SandboxView | undefined {
    return this.pods.get(id);
  }
}

export class FakeImages implements ImageLookup {
  readonly images = new Map<string, ResolvedImage>();
  async resolveImage(ref: string): Promise<ResolvedImage | undefined> {
    return this.images.get(ref);
  }
}

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
  conmonRuntimeArgs(): string[] {
    return ['--runtime-arg', `--root=${this.root}`];
  }
  async prepareExec(id: string, proc: object, opts: { tty: boolean }): Promise<PreparedExec> {
    this.calls.push({ method: 'prepareExec', args: [id, proc, opts] });
    return { file: this.binary, args: ['exec', id], pidFile: path.join(this.root, `${id}.exec-pid`), runtimeFailure: async () => undefined, dispose: async () => undefined };
  }
}

export class FakeMonitor implements ContainerMonitorLauncher {
  readonly launches: ConmonLaunch[] = [];
  fail: Error | undefined;
  async launch(opts: ConmonLaunch): Promise<ConmonStarted> {
    this.launches.push(opts);
    if (this.fail) throw this.fail;
    return { pid: 4242 };
  }
}

export { NotFoundError };
