/**
 * What a test berthd leaves on the host and how to take it away: each instance gets its own
 * bridge and subnet (so parallel daemons never hand out the same IP on one bridge) and, at the
 * end, its pods and containers are removed through CRI while the daemon still runs, then
 * whatever survives a crashed test is swept: mounts under its temp dir, its conmon and pause
 * processes, its bridge and masquerade rule.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { removeMasquerade } from '../../../cni/masquerade';
import type { CriClient } from '../../support/cri-client';

const run = promisify(execFile);

/** The embedded default network of one test daemon. */
export interface TestNetwork {
  name: string;
  bridge: string;
  subnet: string;
}

/** A fresh network: bridge `bt-<hex>`, a /24 in 10.200.0.0–10.250.255.0 picked at random. */
export function uniqueTestNetwork(): TestNetwork {
  const hex = randomBytes(3).toString('hex');
  const b = randomBytes(2);
  return { name: `berth-e2e-${hex}`, bridge: `bt-${hex}`, subnet: `10.${200 + (b[0] % 51)}.${b[1]}.0/24` };
}

/** The drop-in that selects `net` as the embedded default network. */
export function networkDropIn(net: TestNetwork): string {
  return `[cni.default_network]\nname = "${net.name}"\nbridge = "${net.bridge}"\nsubnet = "${net.subnet}"\n`;
}

/** Stops and removes every pod and container through CRI (bounded; errors are ignored). */
export async function removeEverythingViaCri(client: CriClient, timeoutMs = 30_000): Promise<void> {
  const deadline = { timeoutMs };
  const containers = await client.listContainers({}, deadline).catch(() => ({ containers: [] }));
  for (const c of containers.containers ?? []) await client.removeContainer({ containerId: c.id }, deadline).catch(() => undefined);
  const pods = await client.listPodSandbox({}, deadline).catch(() => ({ items: [] }));
  for (const p of pods.items ?? []) {
    await client.stopPodSandbox({ podSandboxId: p.id }, deadline).catch(() => undefined);
    await client.removePodSandbox({ podSandboxId: p.id }, deadline).catch(() => undefined);
  }
}

/** Sweeps what a dead daemon may have left under `tmpDir` and on the host for `net`. */
export async function sweepHost(tmpDir: string, root: string, net: TestNetwork): Promise<void> {
  killProcessesMentioning(tmpDir);
  killRecordedPauses(path.join(root, 'pods'));
  await unmountUnder(tmpDir);
  await run('ip', ['link', 'del', net.bridge]).catch(() => undefined);
  await removeMasquerade(net.name, net.subnet).catch(() => undefined);
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  const prefix = path.resolve(dir);
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === prefix || p.startsWith(prefix + '/'));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  for (const p of mountsUnder(dir)) await run('umount', ['-l', p]).catch(() => undefined);
}

/** SIGKILLs the pause processes recorded in the pods' state files (pause's argv names no path). */
function killRecordedPauses(podsDir: string): void {
  for (const id of fs.existsSync(podsDir) ? fs.readdirSync(podsDir) : []) {
    try {
      const record = JSON.parse(fs.readFileSync(path.join(podsDir, id, 'state.json'), 'utf8')) as { runtime?: { pausePid?: number } };
      const pid = record.runtime?.pausePid;
      if (typeof pid === 'number' && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pause') process.kill(pid, 'SIGKILL');
    } catch {
      // no record, or the process is gone
    }
  }
}

/** SIGKILLs processes whose command line mentions `needle` (conmon and runc carry our paths). */
function killProcessesMentioning(needle: string): void {
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(needle)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
