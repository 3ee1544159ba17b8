/** Runs a tool to completion with captured, size-capped output and an optional kill timeout. */
import { defaultProcessSpawner, drainPipe, type ProcessSpawner } from '../native/process-spawner';

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** True when the timeout fired and the command was killed. */
  timedOut: boolean;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export interface CommandOptions {
  timeoutMs?: number;
  /** Cap per stream; bytes beyond are read and dropped. Default 16 MiB. */
  maxOutputBytes?: number;
  input?: Buffer | string;
  /** Called when the timeout fires, before the command itself is killed (e.g. to kill an exec'd process). */
  onTimeout?: () => Promise<void> | void;
  env?: NodeJS.ProcessEnv;
  /** How to start it (default: posix_spawn through the addon when built). */
  spawner?: ProcessSpawner;
}

/** Spawns `file args`, collects output, resolves when it exits (never rejects for a non-zero exit). */
export async function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const cap = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  const spawner = opts.spawner ?? defaultProcessSpawner();
  const child = await spawner.spawn(file, args, { stdio: [opts.input !== undefined ? 'in' : 'ignore', 'out', 'out'], env: opts.env ?? process.env });
  const out = collector(cap);
  const err = collector(cap);
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      Promise.resolve()
        .then(() => opts.onTimeout?.())
        .catch(() => undefined)
        .finally(() => {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already exited
          }
        });
    }, opts.timeoutMs);
  }
  if (opts.input !== undefined) {
    child.pipes[0]!.on('error', () => undefined); // EPIPE: the command did not read its input
    child.pipes[0]!.end(opts.input);
  }
  try {
    const [exit] = await Promise.all([child.exited, drainPipe(child.pipes[1]!, out.push), drainPipe(child.pipes[2]!, err.push)]);
    return { exitCode: exit.exitCode, signal: exit.signal, stdout: out.data(), stderr: err.data(), timedOut, stdoutTruncated: out.truncated(), stderrTruncated: err.truncated() };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Collects chunks up to `cap` bytes; later bytes are dropped (and counted as truncation). Collectors
 * given the same `shared` budget stop together once it is spent.
 */
export function collector(cap: number, shared?: { left: number }) {
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = false;
  return {
    push: (chunk: Buffer) => {
      const room = Math.min(cap - size, shared ? shared.left : Infinity);
      if (room <= 0) {
        dropped = true;
        return;
      }
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (kept !== chunk) dropped = true;
      chunks.push(kept);
      size += kept.length;
      if (shared) shared.left -= kept.length;
    },
    data: () => Buffer.concat(chunks),
    truncated: () => dropped,
  };
}
