/**
 * Helpers for the pod e2e tests: a PodManager wired to the real native addon, a real CniManager on
 * a unique default network (bridge, subnet, IPAM dir), a unique cgroup parent, and the checks that
 * nothing of a pod is left in the OS (mounts, pins, IPs, pause processes, cgroups).
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { isRunning, readProcStatSync } from '../../common/proc-stat';
import { CniManager } from '../../cni/cni-manager';
import { removeMasquerade } from '../../cni/masquerade';
import { loadNativeBinding, pauseExecutablePath } from '../../native/addon';
import { detectCgroupHierarchies } from '../../pod/pod-cgroups';
import { PodManager } from '../../pod/pod-manager';
import { PodSandboxConfigInput } from '../../pod/types';
import { removeIptablesMentioning, removeNetnsAndLink, run, uniqueNames } from './cni-support';

/** One test environment: temp dirs, a network, a manager. */
export interface PodEnv {
  tmp: string;
  root: string;
  runRoot: string;
  ipamDir: string;
  names: ReturnType<typeof uniqueNames>;
  cgroupParent: string;
  cni: CniManager;
  pods: PodManager;
  /** Pause pids seen, to check none survives. */
  pausePids: Set<number>;
}

/** Options for an environment. */
export interface PodEnvOptions {
  /** Extra plugin dirs searched before /usr/lib/cni. */
  pluginDirsFirst?: string[];
  /** Write this conflist into the config dir (else the embedded default network is used). */
  conflist?: (names: ReturnType<typeof uniqueNames>, ipamDir: string) => unknown;
}

/** Creates the environment (root required). */
export async function createPodEnv(opts: PodEnvOptions = {}): Promise<PodEnv> {
  if (process.getuid?.() !== 0) throw new Error('the pod e2e tests need root');
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-pod-e2e-'));
  const names = uniqueNames();
  const root = path.join(tmp, 'root');
  const runRoot = path.join(tmp, 'run');
  const ipamDir = path.join(tmp, 'ipam');
  const configDir = path.join(tmp, 'net.d');
  await fs.mkdir(configDir, { recursive: true });
  if (opts.conflist) await fs.writeFile(path.join(configDir, '10-test.conflist'), JSON.stringify(opts.conflist(names, ipamDir)));
  const cni = await CniManager.create({
    configDir,
    pluginDirs: [...(opts.pluginDirsFirst ?? []), '/usr/lib/cni'],
    cacheDir: path.join(tmp, 'cni-cache'),
    defaultNetwork: { name: names.network, bridge: names.bridge, subnet: names.subnet, ipamDataDir: ipamDir },
    logger: silentLogger,
  });
  const cgroupParent = `/berth-e2e-${names.suffix}`;
  const env: Omit<PodEnv, 'pods'> = { tmp, root, runRoot, ipamDir, names, cgroupParent, cni, pausePids: new Set() };
  return { ...env, pods: await newPodManager(env) };
}

/** A PodManager over the env's dirs and network (a second one on the same dirs = a restart). */
export function newPodManager(env: Omit<PodEnv, 'pods'>): Promise<PodManager> {
  return PodManager.create({
    root: env.root,
    runRoot: env.runRoot,
    native: loadNativeBinding(),
    network: env.cni,
    pauseExecutable: pauseExecutablePath(),
    runtimeHandlers: ['runc', 'crun'],
    logger: silentLogger,
    defaultCgroupParent: env.cgroupParent,
  });
}

/** Removes every pod, then the network, iptables rules, cgroup parents and temp dirs. */
export async function destroyPodEnv(env: PodEnv | undefined): Promise<void> {
  if (!env) return;
  for (const pod of env.pods.listPodSandboxes()) await env.pods.removePodSandbox(pod.id).catch(() => undefined);
  env.pods.close();
  env.cni.close();
  for (const pid of env.pausePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
  await removeNetnsAndLink([], env.names.bridge);
  await removeIptablesMentioning([env.names.network, env.names.bridge]);
  await removeMasquerade(env.names.network, env.names.subnet).catch(() => undefined);
  for (const h of await detectCgroupHierarchies()) await fs.rmdir(path.join(h.mountPoint, env.cgroupParent)).catch(() => undefined);
  // Anything still mounted under the temp dir (a failed test) is detached before the dir goes.
  for (const target of mountsUnder(env.tmp).reverse()) await run('umount', ['-l', target]).catch(() => undefined);
  await fs.rm(env.tmp, { recursive: true, force: true });
}

/** A pod config with a unique name. */
export function podConfig(name: string, extra: Partial<PodSandboxConfigInput> = {}): PodSandboxConfigInput {
  return {
    metadata: { name, namespace: 'e2e', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    labels: { test: 'pod-e2e' },
    ...extra,
  };
}

/** Mount points (from /proc/self/mountinfo) at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(dir + '/')));
}

/** IP allocation files host-local keeps for the network. */
export async function allocatedIps(env: PodEnv): Promise<string[]> {
  const dir = path.join(env.ipamDir, env.names.network);
  if (!existsSync(dir)) return [];
  return (await fs.readdir(dir)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
}

/** Leaf cgroup dirs under the env's parent in any hierarchy. */
export async function podCgroupsLeft(env: PodEnv): Promise<string[]> {
  const left: string[] = [];
  for (const h of await detectCgroupHierarchies()) {
    const dir = path.join(h.mountPoint, env.cgroupParent);
    if (!existsSync(dir)) continue;
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) left.push(path.join(dir, entry.name));
  }
  return left;
}

/** True while `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  return isRunning(readProcStatSync(pid));
}

/** Pids of live processes whose cgroup path contains `parent` (pause processes we never saw). */
export async function processesUnderCgroup(parent: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cgroup = await fs.readFile(`/proc/${entry}/cgroup`, 'utf8').catch(() => '');
    if (cgroup.includes(`${parent}/`) && processAlive(Number(entry))) found.push(entry);
  }
  return found;
}

/** Everything a pod can leave behind in the OS, as lists (all empty = clean). */
export async function leftovers(env: PodEnv): Promise<Record<string, string[]>> {
  const nsFiles: string[] = [];
  for (const kind of ['net', 'ipc', 'uts', 'pid']) {
    const dir = path.join(env.runRoot, 'ns', kind);
    if (existsSync(dir)) nsFiles.push(...(await fs.readdir(dir)).map((f) => `${kind}/${f}`));
  }
  const listed = async (d: string) => (existsSync(d) ? fs.readdir(d) : []);
  return {
    mounts: mountsUnder(env.tmp),
    nsPins: nsFiles,
    ips: await allocatedIps(env),
    pauses: [...env.pausePids].filter(processAlive).map(String),
    processesInPodCgroups: await processesUnderCgroup(env.cgroupParent),
    cgroups: await podCgroupsLeft(env),
    stateDirs: await listed(path.join(env.root, 'pods')),
    volatileDirs: await listed(path.join(env.runRoot, 'pods')),
    cniAttachments: await env.cni.attachedPodIds(),
  };
}

/** What leftovers() returns for a clean host. */
export const CLEAN = { mounts: [], nsPins: [], ips: [], pauses: [], processesInPodCgroups: [], cgroups: [], stateDirs: [], volatileDirs: [], cniAttachments: [] };
