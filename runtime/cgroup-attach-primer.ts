/**
 * Keeps the kernel's cgroup attach lock warm while containers are being created.
 *
 * Every write of a pid to a cgroup.procs file takes cgroup_threadgroup_rwsem for writing; when no
 * such write happened for about an RCU grace period, taking it first waits for a whole grace period
 * (its rcu_sync switches fork and exit to the lock's slow path), holding cgroup_mutex meanwhile:
 * 6-16 ms on this kind of host. Writes that follow within about a grace period of the previous one
 * do not wait. `runc create` writes its init's pid into every hierarchy ~15 ms after conmon is
 * spawned, on StartContainer's critical path.
 *
 * When a launch begins, this writes berthd's own pid into the cgroup.procs of the cgroup berthd is
 * in (a migration to where it already is: nothing moves, no limit or membership changes), at once
 * and then every few ms for the launch's first ~24 ms: the grace period is paid while conmon and
 * runc start, and runc's writes find the lock already switched. A write that fails switches the
 * primer off for good; it never affects a launch.
 */
import { closeSync, constants as fsc, openSync, readFileSync, write } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

/** Something that holds the primer on while it works: `hold()` returns the release. */
export interface AttachLockWarmer {
  hold(): () => void;
}

/** How often the write repeats while held: about the shortest grace periods seen (6 ms and up). */
const DEFAULT_INTERVAL_MS = 8;
/**
 * How long after a hold began its writes go on (unless released sooner): runc's first write comes
 * 13-20 ms after conmon's spawn, and each write costs berthd two event loop wakeups (~0.3 ms of
 * CPU), so not for the whole launch.
 */
const DEFAULT_WARM_MS = 24;

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

/**
 * Reading /proc/self/cgroup, opening and closing the cgroup file never wait on the lock: done
 * synchronously (berthd pays an event loop wakeup, ~0.15 ms of CPU here, per asynchronous step).
 * The write can wait a grace period, so it goes to the thread pool.
 */
const hostOps: PrimerOps = {
  procsFile: async () => ownProcsFile(readFileSync('/proc/self/cgroup', 'utf8')),
  open: async (file) => {
    const fd = openSync(file, fsc.O_WRONLY); // libuv adds O_CLOEXEC
    return {
      write: (text) => new Promise<void>((resolve, reject) => write(fd, text, (err) => (err ? reject(err) : resolve()))),
      close: async () => closeSync(fd),
    };
  },
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** See the file comment. One write loop at a time, however many launches hold it. */
export class CgroupAttachPrimer implements AttachLockWarmer {
  /** When each live hold stops wanting writes (performance.now() ms). */
  private readonly holds = new Set<{ until: number }>();
  /** Holds not released yet (launches in flight), warm or not. */
  private inFlight = 0;
  private running = false;
  private off = false;

  constructor(
    private readonly opts: { ops?: PrimerOps; pid?: number; intervalMs?: number; warmMs?: number; now?: () => number; onOff?: (reason: string) => void } = {},
  ) {}

  /**
   * Starts the write loop for the next `warmMs`; the returned function releases this hold sooner
   * (once). A hold taken while another launch is in flight adds no writes: during a burst the
   * other launches' runc writes keep the lock switched, and a loop running through the whole burst
   * would cost berthd CPU for nothing.
   */
  hold(): () => void {
    if (this.off) return () => undefined;
    const hold = { until: this.now() + (this.opts.warmMs ?? DEFAULT_WARM_MS) };
    if (this.inFlight++ === 0) this.holds.add(hold);
    this.kick();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.holds.delete(hold);
    };
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.now();
  }

  /** True while some hold is neither released nor past its warm period (expired ones are dropped). */
  private wanted(): boolean {
    const now = this.now();
    for (const h of this.holds) if (h.until <= now) this.holds.delete(h);
    return this.holds.size > 0;
  }

  /** True once a failure switched it off. */
  get disabled(): boolean {
    return this.off;
  }

  private kick(): void {
    if (this.running || this.off || !this.wanted()) return;
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
      while (this.wanted() && !this.off) {
        await handle.write(text);
        if (this.wanted()) await ops.sleep(this.opts.intervalMs ?? DEFAULT_INTERVAL_MS);
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}
