/**
 * Bench section: what a user namespace costs a pod start. Alternates pods with and without
 * `hostUsers: false` through a real berthd's socket and times RunPodSandbox, CreateContainer and
 * StartContainer of one busybox container each (the user-namespaced pod adds the maps, the pin
 * and one idmapped mount per layer). `npm run bench -- --sections userns-start` (root needed), or
 * this file directly: `node dist/test/bench/userns-start.js [pairs]`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startBerthd } from '../e2e/support/berthd';
import { startRegistry } from '../e2e/support/registry';
import { busyboxImage, pushImage } from '../e2e/support/test-images';
import { fmtMs, formatTable, summarize } from './stats';

type Step = 'RunPodSandbox' | 'CreateContainer' | 'StartContainer' | 'total';
const STEPS: readonly Step[] = ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'total'];
const POD = 0;
const CONTAINER = 1;

/** The CRI calls the section makes (test/support/cri-client.ts fits). */
export interface UsernsBenchClient {
  runPodSandbox(req: { config: object }): Promise<{ podSandboxId?: string | null }>;
  createContainer(req: { podSandboxId: string; config: object; sandboxConfig: object }): Promise<{ containerId?: string | null }>;
  startContainer(req: { containerId: string }): Promise<unknown>;
  stopPodSandbox(req: { podSandboxId: string }): Promise<unknown>;
  removePodSandbox(req: { podSandboxId: string }): Promise<unknown>;
}

/** Result of the section: median/p90 per step, with and without a user namespace. */
export interface UsernsStartResult {
  section: 'userns-start';
  pairs: number;
  hostUsers: Record<Step, { medianMs: number; p90Ms: number }>;
  userNamespace: Record<Step, { medianMs: number; p90Ms: number }>;
}

/** First host id handed out: far above anything the bench host uses; 65536 ids per pod, as kubelet. */
const FIRST_BASE = 0x4000000;

/** The namespace options of a pod or container; `base` undefined: the host's user namespace. */
export function namespaceOptions(base: number | undefined): object {
  if (base === undefined) return { pid: CONTAINER };
  const range = [{ hostId: base, containerId: 0, length: 65536 }];
  return { pid: CONTAINER, usernsOptions: { mode: POD, uids: range, gids: range } };
}

/** Runs `pairs` pod+container starts of each kind, interleaved (so drift hits both alike). */
export async function benchUsernsStart(client: UsernsBenchClient, image: string, opts: { pairs?: number; logDir: string }): Promise<UsernsStartResult> {
  const pairs = opts.pairs ?? 10;
  const samples = { hostUsers: new Map<Step, number[]>(), userNamespace: new Map<Step, number[]>() };
  for (const m of Object.values(samples)) for (const s of STEPS) m.set(s, []);
  for (let i = 0; i < 2 * pairs; i++) {
    const kind = i % 2 === 0 ? 'hostUsers' : 'userNamespace';
    const base = kind === 'userNamespace' ? FIRST_BASE + i * 65536 : undefined;
    const name = `userns-bench-${process.pid}-${i}`;
    const podConfig = {
      metadata: { name, namespace: 'bench', uid: `uid-${name}`, attempt: 0 },
      hostname: `b${i}`,
      logDirectory: path.join(opts.logDir, name),
      linux: { securityContext: { namespaceOptions: namespaceOptions(base) } },
    };
    const t0 = performance.now();
    const { podSandboxId } = await client.runPodSandbox({ config: podConfig });
    const t1 = performance.now();
    const podId = podSandboxId ?? '';
    try {
      const { containerId } = await client.createContainer({
        podSandboxId: podId,
        config: {
          metadata: { name: 'c', attempt: 0 },
          image: { image },
          command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
          logPath: 'c.log',
          linux: { securityContext: { namespaceOptions: namespaceOptions(base) } },
        },
        sandboxConfig: podConfig,
      });
      const t2 = performance.now();
      await client.startContainer({ containerId: containerId ?? '' });
      const t3 = performance.now();
      const m = samples[kind];
      m.get('RunPodSandbox')!.push(t1 - t0);
      m.get('CreateContainer')!.push(t2 - t1);
      m.get('StartContainer')!.push(t3 - t2);
      m.get('total')!.push(t3 - t0);
    } finally {
      await client.stopPodSandbox({ podSandboxId: podId });
      await client.removePodSandbox({ podSandboxId: podId });
    }
  }
  const figures = (m: Map<Step, number[]>) => Object.fromEntries(STEPS.map((s) => [s, summarize(m.get(s)!)])) as UsernsStartResult['hostUsers'];
  return { section: 'userns-start', pairs, hostUsers: figures(samples.hostUsers), userNamespace: figures(samples.userNamespace) };
}

/** The result as a text table (median / p90 per step, and the median difference). */
export function formatUsernsStart(r: UsernsStartResult): string {
  const rows = STEPS.map((s) => [
    s,
    `${fmtMs(r.hostUsers[s].medianMs)} / ${fmtMs(r.hostUsers[s].p90Ms)}`,
    `${fmtMs(r.userNamespace[s].medianMs)} / ${fmtMs(r.userNamespace[s].p90Ms)}`,
    `${r.userNamespace[s].medianMs >= r.hostUsers[s].medianMs ? '+' : ''}${fmtMs(r.userNamespace[s].medianMs - r.hostUsers[s].medianMs)}`,
  ]);
  return `user namespace cost, ${r.pairs} pod+container starts each (ms, median / p90)\n${formatTable(['step', 'hostUsers: true', 'hostUsers: false', 'median diff'], rows)}`;
}

/** The whole section: its own registry and berthd, `pairs` interleaved starts; returns the table. */
export async function runUsernsStartSection(pairs: number): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-userns-bench-'));
  const registry = await startRegistry();
  fs.writeFileSync(path.join(work, 'registries.conf'), `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
  const berthd = await startBerthd({ name: 'berth-userns-bench', extraArgs: ['--registries-config', path.join(work, 'registries.conf')] }).catch(async (err: unknown) => {
    await registry.stop();
    throw err;
  });
  try {
    fs.chmodSync(path.dirname(berthd.root), 0o711); // the temp dir stands for /var/lib
    await pushImage(registry.host, 'bench/busybox', 'u', await busyboxImage());
    const image = `${registry.host}/bench/busybox:u`;
    const client = berthd.client();
    await client.pullImage({ image: { image } });
    return formatUsernsStart(await benchUsernsStart(client, image, { pairs, logDir: path.join(work, 'logs') }));
  } finally {
    await berthd.cleanup();
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runUsernsStartSection(Number(process.argv[2] ?? 10)).then(console.log, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
