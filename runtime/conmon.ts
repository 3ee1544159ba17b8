/**
 * Launches conmon (2.1.x, API version 1) for one container. conmon forks itself away from berthd
 * (so containers outlive berthd), runs `<runtime> create`, then reports the container pid — or the
 * create error — as one JSON line `{"data": <pid or -1>, "message": "…"}` on the sync pipe (fd 3).
 * conmon writes the CRI log (k8s-file driver), `<exitDir>/<id>` with the exit code,
 * `<persistDir>/oom` on an OOM kill, and listens on `<bundle>/ctl` for control messages ("2 0 0\n" reopens the log).
 */
import * as path from 'node:path';
import { RuntimeError } from '../common/errors';
import { defaultProcessSpawner, type ProcessSpawner } from '../native/process-spawner';
import { runcError } from './runc-errors';

export interface ConmonLaunch {
  conmonPath: string;
  runtimePath: string;
  /** The runtime's own flags before `create` (from the OCI driver), as `--runtime-arg` pairs. */
  runtimeArgs: readonly string[];
  containerId: string;
  bundleDir: string;
  /** Where the container's init pid is written. */
  containerPidFile: string;
  conmonPidFile: string;
  exitDir: string;
  persistDir: string;
  logPath: string;
  socketDir: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Max bytes of the log file before conmon truncates (-1 = unlimited). */
  logSizeMax?: number;
}

/** The launch options for a container record (paths under its directory, log in the pod's log dir); `runtime.path` is what conmon executes. */
export function conmonLaunchFor(
  record: { id: string; logPath: string; stdin: boolean; stdinOnce: boolean; tty: boolean; paths: { dir: string; bundle: string } },
  runtime: { path: string; conmonRuntimeArgs(): string[] },
  dirs: { conmonPath: string; exitDir: string; socketDir: string; logSizeMax?: number },
): ConmonLaunch {
  return {
    conmonPath: dirs.conmonPath,
    runtimePath: runtime.path,
    runtimeArgs: runtime.conmonRuntimeArgs(),
    containerId: record.id,
    bundleDir: record.paths.bundle,
    containerPidFile: path.join(record.paths.dir, 'pidfile'),
    conmonPidFile: path.join(record.paths.dir, 'conmon.pid'),
    exitDir: dirs.exitDir,
    persistDir: record.paths.dir,
    logPath: record.logPath || path.join(record.paths.dir, 'container.log'),
    socketDir: dirs.socketDir,
    stdin: record.stdin,
    stdinOnce: record.stdinOnce,
    tty: record.tty,
    logSizeMax: dirs.logSizeMax,
  };
}

/** The argv for conmon (exported for tests). */
export function conmonArgs(o: ConmonLaunch): string[] {
  const args = [
    '--api-version', '1',
    '-c', o.containerId,
    '-u', o.containerId,
    '-n', o.containerId,
    '-r', o.runtimePath,
    ...o.runtimeArgs,
    '-b', o.bundleDir,
    '-p', o.containerPidFile,
    '-P', o.conmonPidFile,
    '--persist-dir', o.persistDir,
    '--exit-dir', o.exitDir,
    '-l', `k8s-file:${o.logPath}`,
    '--socket-dir-path', o.socketDir,
    '--log-level', o.logLevel ?? 'info',
    // conmon logs its own diagnostics to syslog; on a host without syslog they are dropped.
    '--syslog',
  ];
  if (o.logSizeMax !== undefined && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.stdin && !o.stdinOnce) args.push('--leave-stdin-open');
  return args;
}

export interface ConmonStarted {
  /** pid of the container's init process (runc created it; `runc start` runs it). */
  pid: number;
}

/** Anything that can launch a container monitor; the manager depends on this, tests fake it. */
export interface ContainerMonitorLauncher {
  launch(opts: ConmonLaunch): Promise<ConmonStarted>;
}

/** Launches the real conmon binary. */
export class ConmonLauncher implements ContainerMonitorLauncher {
  constructor(
    private readonly spawner: ProcessSpawner = defaultProcessSpawner(),
    private readonly timeoutMs = 60_000,
  ) {}

  async launch(opts: ConmonLaunch): Promise<ConmonStarted> {
    const child = await this.spawner
      .spawn(opts.conmonPath, conmonArgs(opts), {
        cwd: opts.bundleDir,
        // fd 2: conmon's own errors; fd 3: the sync pipe. No start pipe (_OCI_STARTPIPE): conmon
        // runs `runtime create` at once.
        stdio: ['ignore', 'ignore', 'out', 'out'],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' },
        newSession: true,
      })
      .catch((e: unknown) => {
        throw new RuntimeError(`start conmon for ${opts.containerId}`, { cause: e });
      });
    const stderr = child.pipes[2]!;
    const sync = child.pipes[3]!;
    return new Promise((resolve, reject) => {
      let settled = false;
      let syncText = '';
      let stderrText = '';
      const finish = (err: Error | undefined, value?: ConmonStarted) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sync.destroy();
        stderr.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      const timer = setTimeout(() => finish(new RuntimeError(`create container ${opts.containerId}: conmon gave no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
      stderr.on('data', (d: Buffer) => (stderrText += d.toString()));
      stderr.on('error', () => undefined);
      sync.on('data', (d: Buffer) => {
        syncText += d.toString();
        const nl = syncText.indexOf('\n');
        if (nl < 0) return;
        const parsed = parseSyncMessage(syncText.slice(0, nl));
        if (parsed.pid > 0) finish(undefined, { pid: parsed.pid });
        // The runtime's own error text: classified like every other runc failure (runc-errors.ts).
        else finish(runcError('create', opts.containerId, parsed.message || 'runtime create failed', null));
      });
      // conmon's stderr may still be arriving when the sync pipe ends: give it the same turn.
      sync.on('end', () => setImmediate(() => finish(new RuntimeError(`create container ${opts.containerId}: conmon exited without reporting (${stderrText.trim() || 'no output'})`))));
      sync.on('error', () => undefined);
    });
  }
}

/** Parses conmon's sync-pipe JSON line. */
export function parseSyncMessage(line: string): { pid: number; message?: string } {
  try {
    const rec = JSON.parse(line) as { data?: number; pid?: number; message?: string };
    return { pid: rec.data ?? rec.pid ?? -1, message: rec.message };
  } catch {
    return { pid: -1, message: line };
  }
}
