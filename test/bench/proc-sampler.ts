/**
 * What a runtime's processes cost, read from /proc: CPU time (utime + stime of each process, and
 * cutime + cstime, the CPU of the children it waited for, so a `runc` a shim or berthd ran and
 * reaped counts for it) and which processes belong to a runtime: the daemon, the per-pod pause
 * (found from the `pid` of the verbose PodSandboxStatus) and the per-container helpers (conmon for
 * berth, containerd-shim-runc-v2 for containerd: the parent of each container's and pod's process).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { CriClient } from '../support/cri-client';
import { parseProcStatOrThrow, type ProcStat as CommonProcStat } from '../../common/proc-stat';

/** The fields of /proc/<pid>/stat the bench uses; times in clock ticks. */
export type ProcStat = Pick<CommonProcStat, 'pid' | 'comm' | 'ppid' | 'utime' | 'stime' | 'cutime' | 'cstime'>;

/** Parses one /proc/<pid>/stat line with common/proc-stat's reader; throws naming the field that is missing or bad. */
export function parseProcStat(line: string): ProcStat {
  const { pid, comm, ppid, utime, stime, cutime, cstime } = parseProcStatOrThrow(line);
  return { pid, comm, ppid, utime, stime, cutime, cstime };
}

/** /proc/<pid>/stat of `pid`, undefined when it is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Parent pid of `pid` from /proc (undefined when gone). */
export function parentPid(pid: number): number | undefined {
  return readProcStat(pid)?.ppid;
}

/** CPU time of a group of processes, in clock ticks. */
export interface CpuTicks {
  /** utime + stime of the processes themselves. */
  self: number;
  /** cutime + cstime: children they waited for. */
  children: number;
}

/** Snapshot of a set of processes, by pid. */
export type CpuSnapshot = Map<number, ProcStat>;

/** Reads every pid of `pids` that is still there. */
export function cpuSnapshot(pids: Iterable<number>): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const pid of pids) {
    const s = readProcStat(pid);
    if (s) out.set(pid, s);
  }
  return out;
}

/**
 * CPU used between two snapshots by the processes present in both (a pid whose comm changed was
 * reused: left out); `missing` counts the pids of `before` not found (or reused) in `after`.
 */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): CpuTicks & { missing: number } {
  let self = 0;
  let children = 0;
  let missing = 0;
  for (const [pid, a] of before) {
    const b = after.get(pid);
    if (!b || b.comm !== a.comm) {
      missing++;
      continue;
    }
    self += b.utime + b.stime - (a.utime + a.stime);
    children += b.cutime + b.cstime - (a.cutime + a.cstime);
  }
  return { self, children, missing };
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc times (USER_HZ; 100 on every Linux this runs on). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** The pid in a verbose status `info.info` document (berth and containerd both use `pid`). */
export function verbosePid(info: { [k: string]: string } | null | undefined): number | undefined {
  try {
    const pid = (JSON.parse(info?.info ?? '{}') as { pid?: unknown }).pid;
    return typeof pid === 'number' && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A runtime's per-pod processes. */
export interface RuntimeProcesses {
  /** The pods' own processes (pause, or containerd's sandbox container). */
  podPids: Set<number>;
  /** Parents of pod and container processes that are neither init, the daemon nor the bench: conmon or the shim. */
  helperPids: Set<number>;
}

/** Finds the pod processes and helpers of `podIds` / `containerIds` through verbose statuses. */
export async function runtimeProcesses(client: CriClient, podIds: readonly string[], containerIds: readonly string[], daemonPid: number | undefined): Promise<RuntimeProcesses> {
  const podPids = new Set<number>();
  const helperPids = new Set<number>();
  const addParent = (pid: number | undefined) => {
    const ppid = pid === undefined ? undefined : parentPid(pid);
    if (ppid !== undefined && ppid > 1 && ppid !== daemonPid && ppid !== process.pid) helperPids.add(ppid);
  };
  for (const id of podIds) {
    const pid = verbosePid((await client.podSandboxStatus({ podSandboxId: id, verbose: true })).info);
    if (pid !== undefined) podPids.add(pid);
    addParent(pid);
  }
  for (const id of containerIds) addParent(verbosePid((await client.containerStatus({ containerId: id, verbose: true })).info));
  for (const pid of podPids) helperPids.delete(pid);
  return { podPids, helperPids };
}
