/**
 * Starts Debian's containerd (1.6, its built-in CRI plugin) fully isolated for the bench: config,
 * root, state, sockets, runc root, CNI conf and IPAM dirs all in one temp dir, its own bridge and
 * subnet. `cleanup()` removes everything it made (pods via CRI first, then the daemon, leftover
 * shims and runc containers, mounts, the bridge, the temp dir) and never throws.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createCriClient, type CriClient } from '../../support/cri-client';
import { removeBenchPods } from '../cri-sequence';
import { deleteLink, killPids, pidsWithArgument, unmountBelow } from '../host-cleanup';
import { bridgeConflist, containerdConfigToml, containerdPaths, registryHostsToml, type ContainerdLayout } from './containerd-config';

const run = promisify(execFile);

/** A running bench containerd. */
export interface ContainerdInstance {
  readonly dir: string;
  readonly socketPath: string;
  readonly pid: number;
  readonly version: string;
  readonly spawnToReadyMs: number;
  /** Everything it made is removed; safe to call twice. */
  cleanup(): Promise<void>;
}

/** Options of startContainerd. */
export interface ContainerdOptions {
  registryHost: string;
  sandboxImage: string;
  bridge: string;
  subnet: string;
  cniBinDir?: string;
  runcPath?: string;
  log?: (line: string) => void;
}

/** Whether a binary is on PATH. */
async function onPath(binary: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${binary}`]).then(
    () => true,
    () => false,
  );
}

/** Installs Debian's containerd when it is missing (needs root and the apt mirror). */
export async function ensureContainerdInstalled(log: (line: string) => void = () => undefined): Promise<void> {
  if (await onPath('containerd')) return;
  log('containerd not found: apt-get install -y containerd');
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'containerd'], { maxBuffer: 64 << 20, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!(await onPath('containerd'))) throw new Error('install containerd: still not on PATH after apt-get');
}

/** Starts containerd with the bench's isolated layout and waits until its CRI answers. */
export async function startContainerd(opts: ContainerdOptions): Promise<ContainerdInstance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-containerd-'));
  const layout: ContainerdLayout = {
    dir,
    registryHost: opts.registryHost,
    sandboxImage: opts.sandboxImage,
    bridge: opts.bridge,
    subnet: opts.subnet,
    cniBinDir: opts.cniBinDir ?? '/usr/lib/cni',
    runcPath: opts.runcPath ?? '/usr/sbin/runc',
  };
  const p = containerdPaths(dir);
  fs.mkdirSync(p.cniConfDir, { recursive: true });
  fs.mkdirSync(path.join(p.certsDir, opts.registryHost), { recursive: true });
  fs.writeFileSync(p.config, containerdConfigToml(layout));
  fs.writeFileSync(path.join(p.cniConfDir, '10-bench.conflist'), bridgeConflist(layout));
  fs.writeFileSync(path.join(p.certsDir, opts.registryHost, 'hosts.toml'), registryHostsToml(opts.registryHost));
  const logFd = fs.openSync(p.log, 'a');
  const started = Date.now();
  const child: ChildProcess = spawn('containerd', ['--config', p.config], { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let client: CriClient | undefined;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await cleanupContainerd({ dir, child, exited, client, bridge: opts.bridge, log: opts.log });
  };
  try {
    client = createCriClient(p.socket);
    const version = await waitForCri(client, child, p.log);
    return { dir, socketPath: p.socket, pid: child.pid!, version, spawnToReadyMs: Date.now() - started, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Polls Version until it answers (20 s), failing early when containerd exits. */
async function waitForCri(client: CriClient, child: ChildProcess, logPath: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const v = await client.version({ version: 'v1' }, { timeoutMs: 1000 });
      return `${v.runtimeName} ${v.runtimeVersion}`;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const tail = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n') : '';
  throw new Error(`start containerd: CRI not answering (${last instanceof Error ? last.message : 'exited'}):\n${tail}`);
}

interface CleanupInput {
  dir: string;
  child: ChildProcess;
  exited: Promise<void>;
  client: CriClient | undefined;
  bridge: string;
  log?: (line: string) => void;
}

/** The cleanup order matters: pods via CRI (CNI DEL, shims exit), then the daemon, then leftovers. */
async function cleanupContainerd(c: CleanupInput): Promise<void> {
  const p = containerdPaths(c.dir);
  const alive = () => c.child.exitCode === null && c.child.signalCode === null;
  if (c.client && alive()) {
    const removed = await removeBenchPods(c.client, 20_000).catch(() => 0);
    if (removed > 0) c.log?.(`containerd cleanup: removed ${removed} leftover pods`);
  }
  c.client?.close();
  if (alive()) {
    c.child.kill('SIGTERM');
    const timer = setTimeout(() => c.child.kill('SIGKILL'), 5000);
    await c.exited;
    clearTimeout(timer);
  }
  // Shims outlive containerd by design; ours are the ones started with our socket as -address.
  await killPids(pidsWithArgument(p.socket));
  await forceDeleteRuncContainers(path.join(p.runcRoot, 'k8s.io'));
  await unmountBelow(c.dir);
  await deleteLink(c.bridge);
  fs.rmSync(c.dir, { recursive: true, force: true });
}

/** Kills and deletes every container left in a runc root. */
async function forceDeleteRuncContainers(root: string): Promise<void> {
  if (!fs.existsSync(root)) return;
  const { stdout } = await run('runc', ['--root', root, 'list', '-q']).catch(() => ({ stdout: '' }));
  for (const id of stdout.split('\n').filter(Boolean)) {
    await run('runc', ['--root', root, 'delete', '--force', id]).catch(() => undefined);
  }
}
