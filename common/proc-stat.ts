/**
 * The one reader of /proc/<pid>/stat and /proc/<pid>/status. In stat the command name (field 2)
 * may hold spaces and parentheses, so the fields after it are split from the last ')'. pid + start
 * time identify one process across pid reuse; a zombie (Z) or dead (X) process no longer runs.
 * status (and smaps_rollup) are `Key:<white space>value` lines.
 */
import { readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from './errors';

/** The fields of /proc/<pid>/stat berth uses. */
export interface ProcStat {
  pid: number;
  /** Field 2 without its parentheses (at most 15 bytes of the executable's name). */
  comm: string;
  /** Field 3: R, S, D, Z, X, … */
  state: string;
  ppid: number;
  session: number;
  /** Fields 14-17, in clock ticks: user and system CPU of the process, and of the children it waited for. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** Field 22: clock ticks after boot. */
  startTime: number;
}

/** The numeric fields read, by their number in proc(5) (field 3, state, is the first after comm). */
const NUMERIC_FIELDS = [
  [4, 'ppid'],
  [6, 'session'],
  [14, 'utime'],
  [15, 'stime'],
  [16, 'cutime'],
  [17, 'cstime'],
  [22, 'startTime'],
] as const;

/** Parses the text of /proc/<pid>/stat; InvalidArgumentError naming the field that is missing or not a number. */
export function parseProcStatOrThrow(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new InvalidArgumentError(`/proc stat: no (comm) in ${JSON.stringify(text.slice(0, 80))}`);
  const pidText = text.slice(0, open).trim();
  const pid = Number(pidText);
  if (!(pid > 0) || !Number.isInteger(pid)) throw new InvalidArgumentError(`/proc stat: field 1 (pid) is ${JSON.stringify(pidText)}`);
  const f = text.slice(close + 2).trimEnd().split(' ');
  const out: ProcStat = { pid, comm: text.slice(open + 1, close), state: f[0] ?? '', ppid: 0, session: 0, utime: 0, stime: 0, cutime: 0, cstime: 0, startTime: 0 };
  for (const [n, name] of NUMERIC_FIELDS) {
    const raw = f[n - 3];
    const v = raw === undefined || raw === '' ? NaN : Number(raw);
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`/proc stat: field ${n} (${name}) is ${raw === undefined ? 'missing' : JSON.stringify(raw)}`);
    out[name] = v;
  }
  return out;
}

/** Parses the text of /proc/<pid>/stat; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  try {
    return parseProcStatOrThrow(text);
  } catch {
    return undefined;
  }
}

/** The stat of `pid`; undefined when it is gone. */
export async function readProcStat(pid: number, procRoot = '/proc'): Promise<ProcStat | undefined> {
  const text = await fs.readFile(path.join(procRoot, String(pid), 'stat'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseProcStat(text);
}

/** readProcStat for callers that must answer synchronously (hot Status paths, signal checks). */
export function readProcStatSync(pid: number, procRoot = '/proc'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** True for a process that still runs: it exists and is neither a zombie nor dead. */
export function isRunning(stat: ProcStat | undefined): stat is ProcStat {
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Parses `Key:\tvalue` lines (/proc/<pid>/status, smaps_rollup) into key → trimmed value. */
export function parseProcStatus(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** A `N kB` field of parseProcStatus's map in KiB; undefined when absent or not a size. */
export function kibField(fields: ReadonlyMap<string, string>, key: string): number | undefined {
  const m = /^(\d+) kB$/.exec(fields.get(key) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The parsed /proc/<pid>/<file> (default status; `self` for this process); undefined when gone. */
export function readProcStatusSync(pid: number | 'self', file: 'status' | 'smaps_rollup' = 'status', procRoot = '/proc'): Map<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, String(pid), file), 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStatus(text);
}
