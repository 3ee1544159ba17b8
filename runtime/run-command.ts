/** Runs a tool to completion with captured, size-capped output and an optional kill timeout. */
import { spawn } from 'node:child_process';

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
}

/** Spawns `file args`, collects output, resolves when it exits (never rejects for a non-zero exit). */
export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const cap = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out = collector(cap);
    const err = collector(cap);
    child.stdout!.on('data', out.push);
    child.stderr!.on('data', err.push);
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        Promise.resolve()
          .then(() => opts.onTimeout?.())
          .catch(() => undefined)
          .finally(() => child.kill('SIGKILL'));
      }, opts.timeoutMs);
    }
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout: out.data(), stderr: err.data(), timedOut, stdoutTruncated: out.truncated(), stderrTruncated: err.truncated() });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

function collector(cap: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = false;
  return {
    push: (chunk: Buffer) => {
      if (size >= cap) {
        dropped = true;
        return;
      }
      const room = cap - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        size = cap;
        dropped = true;
      } else {
        chunks.push(chunk);
        size += chunk.length;
      }
    },
    data: () => Buffer.concat(chunks),
    truncated: () => dropped,
  };
}
