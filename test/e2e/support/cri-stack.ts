/**
 * The setup most CRI e2e files share: a temp work dir (with logs/), a local registry holding the
 * busybox test image, a berthd told by registries.conf to pull from it, a CRI client, and the pods
 * a test ran. `stop()` undoes whatever `start()` got to, also after a failure half way.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { runtime } from '../../../cri/api/generated/cri';
import { isServiceError, type CriClient } from '../../support/cri-client';
import { startBerthd, type BerthdOptions, type BerthdInstance } from './berthd';
import { startRegistry, type TestRegistry } from './registry';
import { busyboxImage, pushImage } from './test-images';

/** CRI ContainerState.CONTAINER_EXITED. */
export const CONTAINER_EXITED = 2;

/** registries.conf for pulling `host` over plain HTTP. */
export function insecureRegistryConf(host: string): string {
  return `[[registry]]\nlocation = "${host}"\ninsecure = true\n`;
}

/** registries.conf that serves registry.k8s.io names from `host` (a mirror over plain HTTP). */
export function k8sMirrorConf(host: string): string {
  return `[[registry]]\nprefix = "registry.k8s.io"\nlocation = "registry.k8s.io"\n[[registry.mirror]]\nlocation = "${host}"\ninsecure = true\n`;
}

/** Options of CriStack.start. */
export interface CriStackOptions {
  /** Repository and tag the busybox image is pushed as (default `e2e/busybox:<stack name>`). */
  busybox?: { repository?: string; tag?: string };
  /** Writes the test's own files into the work dir before anything starts. */
  prepare?: (work: string) => void | Promise<void>;
  /** Pushes more images once the registry runs. */
  push?: (registry: TestRegistry) => Promise<void>;
  /** registries.conf for the registry host (default insecureRegistryConf). */
  registriesConf?: (host: string) => string;
  /** More berthd flags (after --registries-config). */
  extraArgs?: (work: string) => string[];
  /** Other startBerthd options. */
  berthd?: Omit<BerthdOptions, 'name' | 'extraArgs'>;
  /** Pull the busybox image through CRI once berthd runs (default true). */
  pull?: boolean;
}

/** A registry + berthd + CRI client for one describe block. */
export class CriStack {
  work = '';
  registry: TestRegistry | undefined;
  berthd: BerthdInstance | undefined;
  client!: CriClient;
  /** The pushed busybox image, as CRI image references name it. */
  image = '';
  /** Pod sandboxes stopped and removed by stop(), in order. */
  readonly pods: string[] = [];

  /** `name` names the temp dir, the berthd instance (`berth-<name>`) and the default pod. */
  constructor(readonly name: string) {}

  /** Creates the work dir, starts the registry (busybox pushed) and berthd, pulls busybox. */
  async start(opts: CriStackOptions = {}): Promise<this> {
    this.work = fs.mkdtempSync(path.join(os.tmpdir(), `berth-${this.name}-`));
    fs.mkdirSync(path.join(this.work, 'logs'));
    await opts.prepare?.(this.work);
    const registry = await startRegistry();
    this.registry = registry;
    const repository = opts.busybox?.repository ?? 'e2e/busybox';
    const tag = opts.busybox?.tag ?? this.name;
    await pushImage(registry.host, repository, tag, await busyboxImage());
    this.image = `${registry.host}/${repository}:${tag}`;
    await opts.push?.(registry);
    const registriesConf = path.join(this.work, 'registries.conf');
    fs.writeFileSync(registriesConf, (opts.registriesConf ?? insecureRegistryConf)(registry.host));
    this.berthd = await startBerthd({
      ...opts.berthd,
      name: `berth-${this.name}`,
      extraArgs: ['--registries-config', registriesConf, ...(opts.extraArgs?.(this.work) ?? [])],
    });
    this.client = this.berthd.client();
    if (opts.pull !== false) await this.client.pullImage({ image: { image: this.image } });
    return this;
  }

  /** A pod config as kubelet sends it, named `name` (default: the stack's) in namespace e2e. */
  podConfig(name = this.name, linux: runtime.v1.ILinuxPodSandboxConfig = {}, logDirectory = path.join(this.work, 'logs')): runtime.v1.IPodSandboxConfig {
    return { metadata: { name, namespace: 'e2e', uid: `uid-${name}-${process.pid}`, attempt: 0 }, hostname: name, logDirectory, linux };
  }

  /** RunPodSandbox; the pod is removed by stop(). */
  async runPod(config: runtime.v1.IPodSandboxConfig): Promise<string> {
    const id = (await this.client.runPodSandbox({ config })).podSandboxId ?? '';
    if (id) this.pods.push(id);
    return id;
  }

  private seq = 0;

  /** A container config named c<n> running `sh -c script` in the busybox image; `patch` merges in. */
  scriptConfig(script: string, patch: Partial<runtime.v1.IContainerConfig> = {}): runtime.v1.IContainerConfig {
    const name = `c${++this.seq}`;
    return { metadata: { name, attempt: 0 }, image: { image: this.image }, command: ['sh', '-c', script], logPath: `${name}/0.log`, ...patch };
  }

  /** CreateContainer of scriptConfig in pod `podId` (not started); returns its id. */
  async createScript(podId: string, sandboxConfig: runtime.v1.IPodSandboxConfig, script: string, patch: Partial<runtime.v1.IContainerConfig> = {}): Promise<string> {
    const { containerId } = await this.client.createContainer({ podSandboxId: podId, config: this.scriptConfig(script, patch), sandboxConfig });
    return containerId ?? '';
  }

  /** createScript, then StartContainer; returns the id. */
  async startScript(podId: string, sandboxConfig: runtime.v1.IPodSandboxConfig, script: string, patch: Partial<runtime.v1.IContainerConfig> = {}): Promise<string> {
    const id = await this.createScript(podId, sandboxConfig, script, patch);
    await this.client.startContainer({ containerId: id });
    return id;
  }

  /** Runs `script` to its end and removes the container; returns the status, the log and its lines. */
  async runScript(podId: string, sandboxConfig: runtime.v1.IPodSandboxConfig, script: string, patch: Partial<runtime.v1.IContainerConfig> = {}) {
    const id = await this.createScript(podId, sandboxConfig, script, patch);
    try {
      await this.client.startContainer({ containerId: id });
      const status = await waitContainerExited(this.client, id);
      const log = fs.readFileSync(status.logPath ?? '', 'utf8');
      return { status, log, stdout: criLogLines(log, 'stdout'), lines: criLogLines(log) };
    } finally {
      await this.client.removeContainer({ containerId: id });
    }
  }

  /** Stops and removes the pods, stops berthd and the registry, removes the work dir. Never throws. */
  async stop(): Promise<void> {
    for (const podSandboxId of this.pods) {
      await this.client?.stopPodSandbox({ podSandboxId }).catch(() => undefined);
      await this.client?.removePodSandbox({ podSandboxId }).catch(() => undefined);
    }
    await this.berthd?.cleanup();
    await this.registry?.stop();
    if (this.work) fs.rmSync(this.work, { recursive: true, force: true });
  }
}

/** Polls ContainerStatus until the container exited (15 s at most); returns that status. */
export async function waitContainerExited(client: CriClient, containerId: string): Promise<runtime.v1.IContainerStatus> {
  let status: runtime.v1.IContainerStatus | null | undefined;
  for (let i = 0; i < 300; i++) {
    status = (await client.containerStatus({ containerId })).status;
    if (status?.state === CONTAINER_EXITED) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(status?.state, `container ${containerId} exited`).to.equal(CONTAINER_EXITED);
  throw new Error(`container ${containerId} did not exit`);
}

/** The payloads of the CRI log lines of `stream` (`<time> <stream> <tag> <payload>`). */
export function criLogLines(log: string, stream?: 'stdout' | 'stderr'): string[] {
  return log
    .split('\n')
    .filter((l) => (stream ? l.split(' ')[1] === stream : l !== ''))
    .map((l) => l.split(' ').slice(3).join(' '));
}

/** The gRPC error `p` rejects with; throws when it resolves or rejects with something else. */
export async function grpcRefusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isServiceError(err)) throw new Error(`expected a gRPC error, got ${String(err)}`);
  return err;
}
