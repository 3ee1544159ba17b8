/**
 * Keeps the kernel's cgroup attach lock warm while containers are being created.
 *
 * Every write of a pid to a cgroup.procs file takes cgroup_threadgroup_rwsem for writing; when no
 * such write happened for about an RCU grace period, taking it first waits for a whole grace period
 * (its rcu_sync switches fork and exit to the lock's slow path), holding cgroup_mutex meanwhile:
 * 8-15 ms on this kind of host. Writes that follow within about a grace period of the previous one
 * do not wait. `runc create` writes its init's pid into every hierarchy ~15 ms after conmon is
 * spawned, on StartContainer's critical path.
 *
 * While a launch runs, this writes berthd's own pid into the cgroup.procs of the cgroup berthd is
 * in (a migration to where it already is: nothing moves, no limit or membership changes), at once
 * and then every few ms: the grace period is paid while conmon and runc start, and runc's writes
 * find the lock already switched. A write that fails switches the primer off for good; it never
 * affects a launch.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';

/** Something that holds the primer on while it works: `hold()` returns the release. */
export interface AttachLockWarmer {
  hold(): () => void;
}

/** How often the write repeats while held: below the shortest grace periods seen (a few ms). */
const DEFAULT_INTERVAL_MS = 4;

/** The file berthd's own pid is written to: its cgroup in one v1 hierarchy (pids, else the first), or its v2 cgroup. */
export function ownProcsFile(procSelfCgroup: string, mount = '/sys/fs/cgroup'): string | undefined {
  const entries = procSelfCgroup
    .split('\n')
    .map((line) => /^(\d+):([^:]*):(\/.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ controllers: m[2].split(','), cgroup: m[3] }));
  const v1 = entries.filter((e) => e.controllers[0] !== '' && !e.controllers.some((c) => c.startsWith('name=')));
  const pick = v1.find((e) => e.controllers.includes('pids')) ?? v1[0];
  if (pick) return path.join(mount, pick.controllers.join(','), pick.cgroup, 'cgroup.procs');
  const v2 = entries.find((e) => e.controllers.length === 1 && e.controllers[0] === '');
  return v2 ? path.join(mount, v2.cgroup, 'cgroup.procs') : undefined;
}

/** What the primer does to the host (tests replace it). */
export interface PrimerOps {
  /** The cgroup.procs file to write; undefined when there is none. */
  procsFile(): Promise<string | undefined>;
  /** Opens `file` for writing; `write` puts the pid text in; `close` closes it. */
  open(file: string): Promise<{ write(text: string): Promise<void>; close(): Promise<void> }>;
  sleep(ms: number): Promise<void>;
}

const hostOps: PrimerOps = {
  procsFile: async () => ownProcsFile(await fs.readFile('/proc/self/cgroup', 'utf8')),
  open: async (file) => {
    const fh = await fs.open(file, fsc.O_WRONLY);
    return {
      write: async (text) => {
        await fh.write(text);
      },
      close: () => fh.close(),
    };
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** See the file comment. One write loop at a time, however many launches hold it. */
export class CgroupAttachPrimer implements AttachLockWarmer {
  private holders = 0;
  private running = false;
  private off = false;

  constructor(
    private readonly opts: { ops?: PrimerOps; pid?: number; intervalMs?: number; onOff?: (reason: string) => void } = {},
  ) {}

  /** Starts (or joins) the write loop; the returned function releases this hold (once). */
  hold(): () => void {
    if (this.off) return () => undefined;
    this.holders++;
    this.kick();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
    };
  }

  /** True once a failure switched it off. */
  get disabled(): boolean {
    return this.off;
  }

  private kick(): void {
    if (this.running || this.off || this.holders === 0) return;
    this.running = true;
    void this.loop()
      .catch((err: unknown) => this.switchOff(err instanceof Error ? err.message : String(err)))
      .finally(() => {
        this.running = false;
        this.kick(); // a hold taken while the loop was finishing
      });
  }

  private switchOff(reason: string): void {
    if (this.off) return;
    this.off = true;
    this.opts.onOff?.(reason);
  }

  private async loop(): Promise<void> {
    const ops = this.opts.ops ?? hostOps;
    const file = await ops.procsFile();
    if (!file) return this.switchOff('no cgroup of its own found in /proc/self/cgroup');
    const handle = await ops.open(file);
    const text = String(this.opts.pid ?? process.pid);
    try {
      while (this.holders > 0 && !this.off) {
        await handle.write(text);
        if (this.holders > 0) await ops.sleep(this.opts.intervalMs ?? DEFAULT_INTERVAL_MS);
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}
