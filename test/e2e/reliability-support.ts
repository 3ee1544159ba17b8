/**
 * A berthd that can be killed and started again on the SAME root, run-root, socket and network
 * (startBerthd gives every start fresh dirs), plus an image source (a local registry behind a
 * registry.k8s.io mirror) and host-level probes for leaks. Used by the reliability, bad-input and
 * chaos e2e tests and by the soak run. `destroy()` removes everything through CRI when berthd is
 * up, then sweeps the host (processes naming our dir, mounts under it, the bridge).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isRunning, readProcStatSync } from '../../common/proc-stat';
import { parseCgroupMounts } from '../../pod/pod-cgroups';
import { createCriClient, type CriClient } from '../support/cri-client';
import { berthdMainPath, type BerthdExit } from './support/berthd';
import { mountsUnder, networkDropIn, removeEverythingViaCri, sweepHost, uniqueTestNetwork, type TestNetwork } from './support/berthd-cleanup';
import { startRegistry, type TestRegistry } from './support/registry';
import { busyboxImage, pushImage } from './support/test-images';

/** The image every reliability test runs (served by the test registry through a mirror). */
export const TEST_IMAGE = 'registry.k8s.io/pause:3.9';

/** One berthd process of a RestartableBerthd. */
interface Running {
  child: ChildProcess;
  exited: Promise<BerthdExit>;
  client: CriClient;
}

export class RestartableBerthd {
  readonly root: string;
  readonly runRoot: string;
  readonly socketPath: string;
  readonly logsDir: string;
  readonly network: TestNetwork = uniqueTestNetwork();
  /** stderr lines of every start, in order. */
  readonly logLines: string[] = [];
  private running: Running | undefined;
  private registry: TestRegistry | undefined;
  starts = 0;
  /** Serve /metrics on a free loopback port (off by default). */
  metrics = false;
  /** host:port of /metrics of the current process, when `metrics` is on. */
  metricsAddress: string | undefined;
  /** Extra environment of the next starts (e.g. the crash seam's BERTH_TEST_PAUSE_STEP). */
  env: Record<string, string> = {};
  /**
   * The cgroup parent of every pod of this instance (podConfig sets it): all its pod and
   * container cgroups sit below it in each hierarchy, so leaks are found without seeing other
   * berthd instances that share the host.
   */
  readonly cgroupParent: string;

  private constructor(readonly dir: string) {
    this.root = path.join(dir, 'root');
    this.runRoot = path.join(dir, 'run');
    this.socketPath = path.join(dir, 'berth.sock');
    this.logsDir = path.join(dir, 'logs');
    this.cgroupParent = `/berth-e2e-${path.basename(dir)}`;
  }

  /** Makes the dirs and config, and starts a registry holding TEST_IMAGE. */
  static async create(name: string): Promise<RestartableBerthd> {
    const b = new RestartableBerthd(fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`)));
    fs.mkdirSync(b.logsDir);
    fs.mkdirSync(path.join(b.dir, 'berth.d'));
    fs.mkdirSync(path.join(b.dir, 'cni-conf'));
    fs.writeFileSync(path.join(b.dir, 'berth.toml'), '');
    fs.writeFileSync(path.join(b.dir, 'berth.d', '00-network.toml'), networkDropIn(b.network));
    b.registry = await startRegistry();
    await pushImage(b.registry.host, 'pause', '3.9', await busyboxImage());
    fs.writeFileSync(
      path.join(b.dir, 'registries.conf'),
      `[[registry]]\nprefix = "registry.k8s.io"\nlocation = "registry.k8s.io"\n[[registry.mirror]]\nlocation = "${b.registry.host}"\ninsecure = true\n`,
    );
    return b;
  }

  /** Starts berthd and waits for "berthd ready"; returns the log lines of this start. */
  async start(readyTimeoutMs = 30_000): Promise<string[]> {
    if (this.running) throw new Error('berthd is already running');
    const from = this.logLines.length;
    const args = [
      berthdMainPath(),
      '--config', path.join(this.dir, 'berth.toml'),
      '--config-dir', path.join(this.dir, 'berth.d'),
      '--cni-config-dir', path.join(this.dir, 'cni-conf'),
      '--registries-config', path.join(this.dir, 'registries.conf'),
      '--listen', this.socketPath,
      '--root', this.root,
      '--run-root', this.runRoot,
      '--metrics-listen', this.metrics ? '127.0.0.1:0' : '',
      '--log-format', 'json',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...this.env } });
    const exited = new Promise<BerthdExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const ready = new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          this.logLines.push(line);
          if (line.includes('"msg":"berthd ready"')) {
            const m = /"metrics":"([^"]+)"/.exec(line);
            this.metricsAddress = m && m[1] !== 'disabled' ? m[1] : undefined;
            resolve();
          }
        }
      });
      void exited.then((e) => reject(new Error(`berthd exited before ready (${JSON.stringify(e)}):\n${this.logLines.slice(from).join('\n')}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([ready, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`berthd not ready in ${readyTimeoutMs} ms`)), readyTimeoutMs)))]);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.running = { child, exited, client: createCriClient(this.socketPath) };
    this.starts++;
    return this.logLines.slice(from);
  }

  /** The CRI client of the current process. */
  client(): CriClient {
    if (!this.running) throw new Error('berthd is not running');
    return this.running.client;
  }

  /** The pid of the current process. */
  get pid(): number | undefined {
    return this.running?.child.pid;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals, timeoutMs = 20_000): Promise<BerthdExit> {
    const r = this.running;
    if (!r) throw new Error('berthd is not running');
    this.running = undefined;
    r.client.close();
    r.child.kill(signal);
    const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
    try {
      return await r.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Removes everything via CRI when running, kills berthd, sweeps the host, stops the registry, deletes the dir. */
  async destroy(): Promise<void> {
    if (this.running) {
      await removeEverythingViaCri(this.running.client).catch(() => undefined);
      await this.stop('SIGKILL').catch(() => undefined);
    }
    // pause's argv names no path of ours: kill the ones the pod records name (runtime.pausePid).
    for (const entry of pausesOf(path.join(this.root, 'pods'))) {
      const pid = Number(entry.split(':')[1]);
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pause') process.kill(pid, 'SIGKILL'); // never a recycled pid
      } catch {
        // already gone
      }
    }
    // Anything still in the instance's cgroups is ours (pause, containers): kill, then rmdir deepest first.
    for (const pid of processesInCgroup(this.cgroupParent)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sweepHost(this.dir, this.root, this.network).catch(() => undefined);
    for (const dir of [...cgroupDirsUnder(this.cgroupParent), ...cgroupHierarchyDirs(this.cgroupParent)].sort((x, y) => y.length - x.length)) {
      await waitUntil(() => rmdirGone(dir), 5_000, `rmdir ${dir}`).catch(() => undefined);
    }
    await this.registry?.stop().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** leaks() plus the cgroup dirs below the instance's cgroup parent (every v1 and v2 hierarchy) and the processes in them. */
  leaksWithCgroups(): Record<string, string[]> {
    return {
      ...this.leaks(),
      cgroups: cgroupDirsUnder(this.cgroupParent),
      // a zombie holds no namespace, mount or memory: only live processes are leaks
      cgroupProcesses: processesInCgroup(this.cgroupParent).filter(processAlive).map((pid) => `${pid} ${commOf(pid)}`),
    };
  }

  /** Open fds of the current berthd process (undefined when not running). */
  openFds(): number | undefined {
    try {
      return this.pid ? fs.readdirSync(`/proc/${this.pid}/fd`).length : undefined;
    } catch {
      return undefined;
    }
  }

  /** Everything this instance could leak on the host; all empty when clean. */
  leaks(): Record<string, string[]> {
    const list = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => !n.startsWith('.')) : []);
    const ipamDir = path.join(this.root, 'cni', 'networks', this.network.name);
    return {
      mounts: mountsUnder(this.dir),
      nsPins: ['net', 'ipc', 'uts', 'pid'].flatMap((k) => list(path.join(this.runRoot, 'ns', k)).map((n) => `${k}/${n}`)),
      ipLeases: list(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)),
      podStateDirs: list(path.join(this.root, 'pods')),
      podVolatileDirs: list(path.join(this.runRoot, 'pods')),
      containerDirs: list(path.join(this.root, 'containers')),
      exitFiles: list(path.join(this.runRoot, 'containers', 'exits')),
      cniCache: list(path.join(this.root, 'cni', 'results')),
      processes: processesMentioning(this.dir).filter((p) => p.pid !== this.pid).map((p) => `${p.pid} ${p.comm}`),
      pauses: pausesOf(path.join(this.root, 'pods')),
      holdingFiles: processesHoldingFilesUnder(this.dir).filter((p) => p.pid !== this.pid).map((p) => `${p.pid} ${p.comm}`),
      runtimeState: list(path.join(this.runRoot, 'runtimes', 'runc')),
    };
  }
}

/** What leaksWithCgroups() returns on a clean host. */
export const NO_LEAKS: Readonly<Record<string, string[]>> = Object.freeze({
  mounts: [], nsPins: [], ipLeases: [], podStateDirs: [], podVolatileDirs: [], containerDirs: [], exitFiles: [], cniCache: [], processes: [], pauses: [], holdingFiles: [], runtimeState: [], cgroups: [], cgroupProcesses: [],
});

/** `relative` (a cgroup path) in every mounted hierarchy, v1 controllers and the v2 mount alike. */
export function cgroupHierarchyDirs(relative: string): string[] {
  const hierarchies = parseCgroupMounts(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  if (!hierarchies.some((h) => h.version === 1) && !hierarchies.some((h) => h.version === 2)) throw new Error('no cgroup hierarchy mounted');
  return hierarchies.map((h) => path.join(h.mountPoint, relative));
}

/** Every directory below `relative` in every hierarchy (v1 and v2), deepest last. */
export function cgroupDirsUnder(relative: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // absent in this hierarchy
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      out.push(path.join(dir, e.name));
      walk(path.join(dir, e.name));
    }
  };
  for (const top of cgroupHierarchyDirs(relative)) walk(top);
  return out;
}

/** Pids whose cgroup (in any hierarchy) is `relative` or below it. */
export function processesInCgroup(relative: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const lines = fs.readFileSync(`/proc/${name}/cgroup`, 'utf8').split('\n');
      if (lines.some((l) => l.endsWith(`:${relative}`) || l.includes(`:${relative}/`))) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function commOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** rmdir of a cgroup dir; true once it is gone (false while busy). */
function rmdirGone(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Processes whose command line names `needle` (conmon, runc and shims carry our paths). */
export function processesMentioning(needle: string): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push({ pid: Number(name), comm: fs.readFileSync(`/proc/${name}/comm`, 'utf8').trim() });
    } catch {
      // gone
    }
  }
  return out;
}

/** Live processes with an open file under `dir` (pause keeps its log in the pod's volatile dir). */
export function processesHoldingFilesUnder(dir: string): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid || !processAlive(Number(name))) continue;
    try {
      const fds = fs.readdirSync(`/proc/${name}/fd`);
      if (fds.some((fd) => safeReadlink(`/proc/${name}/fd/${fd}`).startsWith(dir + '/'))) out.push({ pid: Number(name), comm: fs.readFileSync(`/proc/${name}/comm`, 'utf8').trim() });
    } catch {
      // gone or not ours to read
    }
  }
  return out;
}

function safeReadlink(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '';
  }
}

/** Live pause processes recorded in pod state files. */
function pausesOf(podsDir: string): string[] {
  const out: string[] = [];
  for (const id of fs.existsSync(podsDir) ? fs.readdirSync(podsDir) : []) {
    try {
      const rec = JSON.parse(fs.readFileSync(path.join(podsDir, id, 'state.json'), 'utf8')) as { runtime?: { pausePid?: number } };
      const pid = rec.runtime?.pausePid;
      if (pid && processAlive(pid)) out.push(`${id.slice(0, 12)}:${pid}`);
    } catch {
      // unreadable or gone
    }
  }
  return out;
}

/** True while `pid` runs (not a zombie). */
export function processAlive(pid: number): boolean {
  return isRunning(readProcStatSync(pid));
}

/** Polls `probe` every 50 ms until true; throws `what` after `ms`. */
export async function waitUntil(probe: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A pod config with a log directory under the instance's logs dir. */
export function podConfig(b: RestartableBerthd, name: string, attempt = 0) {
  return {
    metadata: { name, namespace: 'reliability', uid: `uid-${name}`, attempt },
    hostname: name,
    logDirectory: path.join(b.logsDir, name),
    linux: { cgroupParent: b.cgroupParent },
  };
}
