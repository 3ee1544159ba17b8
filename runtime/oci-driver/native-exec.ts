/**
 * ExecSync without spawning runc: the addon's execInContainer starts the command inside a runc
 * container the way `runc exec` would (runc's exec costs ~30 ms CPU, a quarter of it libseccomp
 * compiling the profile again). Seccomp parity is exact: the filters are copied from the
 * container's init (ptrace, once per init) instead of being compiled from the spec.
 *
 * Anything this path cannot reproduce exactly (an AppArmor or SELinux label, a umask, a process
 * field it does not know, an init it cannot trace) is not attempted: the caller runs `runc exec`
 * instead. Never an exec with less confinement.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContainerExecProcess, ContainerExecSpec, NativeBinding } from '../../native/binding';
import { isRunning, readProcStat } from '../../common/proc-stat';
import { cgroupDirs, initStillRuns, readRuncState } from './state-dir';
import type { OciCapabilities, OciProcess } from '../spec/oci-types';

/** What the driver needs of the addon. */
export type ExecNative = Pick<NativeBinding, 'execInContainer' | 'readSeccompFilters'>;

/** The native path does not apply; `runc exec` must run (the reason is logged once). */
export class UseRuntimeExec {
  constructor(readonly reason: string) {}
}

const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

const RLIMITS = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'];

/** The process fields this path reproduces; any other one sends the exec to runc. */
const KNOWN_FIELDS = new Set(['terminal', 'user', 'args', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges', 'oomScoreAdj', 'consoleSize']);

/** runc's PATH when the process's env has none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function capMask(names: readonly string[] | undefined): bigint | UseRuntimeExec {
  let mask = 0n;
  for (const name of names ?? []) {
    const bit = CAPABILITIES.indexOf(name.replace(/^CAP_/, ''));
    if (bit < 0) return new UseRuntimeExec(`capability ${name} is unknown here`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

function rlimitValue(v: number): bigint {
  return v >= 2 ** 63 || v < 0 ? 0xffffffffffffffffn : BigInt(Math.trunc(v));
}

/** execve candidates for args[0] like runc's lookup: a path as it is, a name along the env's PATH. */
export function execCandidates(arg0: string, env: readonly string[]): string[] {
  if (arg0.includes('/')) return [arg0];
  const pathVar = [...env].reverse().find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  return pathVar.split(':').map((dir) => path.join(dir || '.', arg0));
}

/** A runc container's init and what an exec joins, from its state.json. */
export interface ContainerInit {
  readonly pid: number;
  /** Start time (clock ticks after boot): tells a reused pid apart. */
  readonly start: number;
  readonly cgroupProcs: readonly string[];
  /** v1 freezer.state or v2 cgroup.freeze of the container, when known. */
  readonly freezeFile?: string;
}

/** True while the init named by `init` still runs (same pid and start time). */
export async function initRunning(init: ContainerInit): Promise<boolean> {
  const stat = await readProcStat(init.pid);
  return isRunning(stat) && stat.startTime === init.start;
}

/** The container's init and cgroup.procs files from runc's state.json, if its init still runs. */
export async function containerInit(stateDir: string): Promise<ContainerInit | UseRuntimeExec> {
  const state = await readRuncState(stateDir);
  if (!state) return new UseRuntimeExec('no readable state.json');
  if (!(await initStillRuns(state))) return new UseRuntimeExec('the init is not running');
  const dirs = cgroupDirs(state);
  if (dirs.length === 0) return new UseRuntimeExec('no cgroup paths in state.json');
  const v1 = state.cgroup_paths?.freezer;
  const v2 = state.cgroup_paths?.[''];
  const freezeFile = v1 ? path.join(v1, 'freezer.state') : v2 ? path.join(v2, 'cgroup.freeze') : undefined;
  return { pid: state.init_process_pid!, start: state.init_process_start!, cgroupProcs: dirs.map((d) => path.join(d, 'cgroup.procs')), freezeFile };
}

/**
 * Whether the container is paused: a frozen init never reaches a ptrace stop and a process joining
 * its cgroup freezes, so runc exec answers that case.
 */
export async function containerFrozen(init: ContainerInit): Promise<UseRuntimeExec | undefined> {
  if (!init.freezeFile) return undefined;
  const text = (await fs.readFile(init.freezeFile, 'utf8').catch(() => '?')).trim();
  const thawed = init.freezeFile.endsWith('freezer.state') ? text === 'THAWED' : text === '0';
  return thawed ? undefined : new UseRuntimeExec('the container is paused (or its freezer state cannot be read)');
}

/**
 * Why no process that can see the exec'd process could hold CAP_SYS_PTRACE in berthd's user
 * namespace, or a reason to use runc: until it execs, that process shares berthd's (non-dumpable)
 * memory, which such a process could ptrace or write through /proc/<pid>/mem. Safe when the
 * container has its own user namespace, or when its pid namespace is its own (its init is pid 1
 * there; a pod-shared one may hold other containers) and its bounding set lacks CAP_SYS_PTRACE.
 * The host pid namespace is fine too: whoever sees it there with that capability can trace berthd itself.
 */
export async function tracersExcluded(initPid: number, procBounding: readonly string[] | undefined): Promise<true | UseRuntimeExec> {
  const link = (pid: number | 'self', ns: string) => fs.readlink(`/proc/${pid}/ns/${ns}`).catch(() => '');
  const [theirUser, ourUser, theirPid, ourPid, status] = await Promise.all([link(initPid, 'user'), link('self', 'user'), link(initPid, 'pid'), link('self', 'pid'), fs.readFile(`/proc/${initPid}/status`, 'utf8').catch(() => '')]);
  if (!theirUser || !ourUser || !theirPid || !ourPid) return new UseRuntimeExec('the init\'s namespaces cannot be read');
  if (theirUser !== ourUser) return true;
  if (theirPid === ourPid) return true;
  const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1].trim().split(/\s+/) ?? [];
  if (nspid[nspid.length - 1] !== '1') return new UseRuntimeExec('its pid namespace is shared with other processes (pod-shared)');
  const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  const ptrace = 1n << BigInt(CAPABILITIES.indexOf('SYS_PTRACE'));
  if (!bnd || (BigInt(`0x${bnd[1]}`) & ptrace) !== 0n) return new UseRuntimeExec('the container may hold CAP_SYS_PTRACE');
  if ((procBounding ?? []).some((c) => c.replace(/^CAP_/, '') === 'SYS_PTRACE')) return new UseRuntimeExec('the exec may hold CAP_SYS_PTRACE');
  return true;
}

/** Seccomp_filters of /proc/<pid>/status (0 when not in filter mode). */
async function seccompFilterCount(pid: number, procRoot: string): Promise<number | undefined> {
  const status = await fs.readFile(`${procRoot}/${pid}/status`, 'utf8').catch(() => '');
  const mode = /^Seccomp:\s*(\d+)$/m.exec(status);
  if (!mode) return undefined;
  if (mode[1] === '0') return 0;
  if (mode[1] !== '2') return undefined;
  const count = /^Seccomp_filters:\s*(\d+)$/m.exec(status);
  return count ? Number(count[1]) : undefined;
}

/** The init's seccomp filters, read once per init (pid and start time). */
export class SeccompFilterCache {
  private readonly byInit = new Map<string, Promise<Buffer[] | UseRuntimeExec>>();

  constructor(
    private readonly native: Pick<ExecNative, 'readSeccompFilters'>,
    private readonly procRoot = '/proc',
  ) {}

  get(id: string, init: { pid: number; start: number }): Promise<Buffer[] | UseRuntimeExec> {
    const key = `${id}:${init.pid}:${init.start}`;
    let entry = this.byInit.get(key);
    if (!entry) {
      for (const k of this.byInit.keys()) if (k.startsWith(`${id}:`)) this.byInit.delete(k);
      entry = this.read(init.pid);
      this.byInit.set(key, entry);
      // a failure is not kept: the next exec tries again (the tracer may have gone)
      void entry.then((r) => r instanceof UseRuntimeExec && this.byInit.delete(key));
    }
    return entry;
  }

  /** Forgets the container's filters (it was removed). */
  forget(id: string): void {
    for (const k of this.byInit.keys()) if (k.startsWith(`${id}:`)) this.byInit.delete(k);
  }

  private async read(pid: number): Promise<Buffer[] | UseRuntimeExec> {
    const count = await seccompFilterCount(pid, this.procRoot);
    if (count === undefined) return new UseRuntimeExec('the init\'s seccomp mode is unknown');
    if (count === 0) return [];
    let filters: Buffer[];
    try {
      filters = await this.native.readSeccompFilters(pid);
    } catch (err) {
      return new UseRuntimeExec(`its init's seccomp filters cannot be read (${err instanceof Error ? err.message : String(err)})`);
    }
    // a filter added meanwhile (or one missed) would make the copy weaker: refuse it
    if (filters.length !== count || (await seccompFilterCount(pid, this.procRoot)) !== count) return new UseRuntimeExec(`read ${filters.length} seccomp filters of ${count}`);
    return filters;
  }
}

/** The ContainerExecSpec of an OCI exec process, or why this path cannot run it. */
export async function containerExecSpec(proc: OciProcess, init: { pid: number; cgroupProcs: readonly string[] }, filters: Buffer[]): Promise<ContainerExecSpec | UseRuntimeExec> {
  for (const key of Object.keys(proc)) if (!KNOWN_FIELDS.has(key)) return new UseRuntimeExec(`process.${key} is set`);
  if (proc.terminal) return new UseRuntimeExec('a terminal is asked for');
  if (proc.user.umask !== undefined) return new UseRuntimeExec('process.user.umask is set');
  if (Object.keys(proc.user).some((k) => !['uid', 'gid', 'additionalGids', 'umask'].includes(k))) return new UseRuntimeExec('process.user has other fields');
  const caps: Partial<OciCapabilities> = proc.capabilities ?? {};
  const masks = [caps.bounding, caps.effective, caps.permitted, caps.inheritable, caps.ambient].map(capMask);
  const bad = masks.find((m): m is UseRuntimeExec => m instanceof UseRuntimeExec);
  if (bad) return bad;
  const [bounding, effective, permitted, inheritable, ambient] = masks as bigint[];
  const rlimits: Array<{ resource: number; soft: bigint; hard: bigint }> = [];
  for (const r of proc.rlimits ?? []) {
    const resource = RLIMITS.indexOf(r.type.replace(/^RLIMIT_/, ''));
    if (resource < 0) return new UseRuntimeExec(`rlimit ${r.type} is unknown here`);
    rlimits.push({ resource, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) });
  }
  // The exec keeps the init's score, as with runc (the process's own value is not applied).
  const oomText = (await fs.readFile(`/proc/${init.pid}/oom_score_adj`, 'utf8').catch(() => '')).trim();
  return {
    initPid: init.pid,
    cgroupProcs: init.cgroupProcs,
    args: proc.args,
    env: proc.env,
    candidates: execCandidates(proc.args[0] ?? '', proc.env),
    cwd: proc.cwd || '/',
    uid: proc.user.uid,
    gid: proc.user.gid,
    additionalGids: proc.user.additionalGids ?? [],
    bounding,
    effective,
    permitted,
    inheritable,
    ambient,
    noNewPrivileges: proc.noNewPrivileges === true,
    rlimits,
    oomScoreAdj: /^-?\d+$/.test(oomText) ? Number(oomText) : undefined,
    seccompFilters: filters,
  };
}

export type { ContainerExecProcess };
