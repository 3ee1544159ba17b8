/**
 * Starts a real berthd (the compiled daemon/main.js of the same tree) as a child process with its
 * own temp socket, root, run-root, config files and a free metrics port, waits until it logs
 * "berthd ready", and stops it. Every e2e test that needs a daemon uses this; `cleanup()` always
 * kills the child and removes the temp dir, so call it from an after/afterEach hook.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCriClient, type CriClient } from '../../support/cri-client';
import { networkDropIn, removeEverythingViaCri, sweepHost, uniqueTestNetwork, type TestNetwork } from './berthd-cleanup';

/** Path of the compiled berthd entry next to this compiled helper. */
export function berthdMainPath(): string {
  return path.resolve(__dirname, '..', '..', '..', 'daemon', 'main.js');
}

/** Options of startBerthd. */
export interface BerthdOptions {
  /** Contents of the main config file (passed with --config). */
  configToml?: string;
  /** Drop-in files by name (written to the --config-dir). */
  dropIns?: Record<string, string>;
  /** More flags, appended after the helper's own (later flags win). */
  extraArgs?: string[];
  /** Serve metrics on a free port (default true). */
  metrics?: boolean;
  /** How long to wait for "berthd ready" (default 15 s). */
  readyTimeoutMs?: number;
  /** Prefix of the temp dir name. */
  name?: string;
  /** Use the host's CNI config dir (default: an empty private one, so the embedded network is used). */
  hostCniConfig?: boolean;
}

/** Exit of the berthd process. */
export interface BerthdExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A berthd started by the helper. */
export interface BerthdInstance {
  readonly tmpDir: string;
  readonly socketPath: string;
  readonly root: string;
  readonly runRoot: string;
  /** The instance's own embedded default network (bridge, subnet). */
  readonly network: TestNetwork;
  /** host:port of /metrics, when enabled. */
  readonly metricsAddress: string | undefined;
  readonly pid: number;
  /** Milliseconds from spawn to the "berthd ready" line. */
  readonly spawnToReadyMs: number;
  /** The "berthd ready" log record. */
  readonly readyRecord: Record<string, unknown>;
  /** Every stderr line so far. */
  readonly logLines: string[];
  /** Resolves when the process exits. */
  readonly exited: Promise<BerthdExit>;
  /** A CRI client on the socket (closed by cleanup). */
  client(): CriClient;
  /** Sends `signal` (default SIGTERM) and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<BerthdExit>;
  /** Kills the process if alive, closes clients, removes the temp dir. Never throws. */
  cleanup(): Promise<void>;
}

/** Writes the config files of a test instance into `tmpDir`; returns the --config/--config-dir flags. */
function writeConfigFiles(tmpDir: string, opts: Pick<BerthdOptions, 'configToml' | 'dropIns'>): string[] {
  const configPath = path.join(tmpDir, 'berth.toml');
  const configDir = path.join(tmpDir, 'berth.d');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(configPath, opts.configToml ?? '');
  for (const [name, text] of Object.entries(opts.dropIns ?? {})) fs.writeFileSync(path.join(configDir, name), text);
  return ['--config', configPath, '--config-dir', configDir];
}

/** Starts berthd and waits until it is ready; rejects with its stderr if it exits first. */
export async function startBerthd(opts: BerthdOptions = {}): Promise<BerthdInstance> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name ?? 'berth-e2e'}-`));
  const socketPath = path.join(tmpDir, 'berth.sock');
  const root = path.join(tmpDir, 'root');
  const runRoot = path.join(tmpDir, 'run');
  const network = uniqueTestNetwork();
  const cniConfigDir = path.join(tmpDir, 'cni-conf');
  fs.mkdirSync(cniConfigDir);
  const args = [
    berthdMainPath(),
    ...writeConfigFiles(tmpDir, { ...opts, dropIns: { '00-test-network.toml': networkDropIn(network), ...opts.dropIns } }),
    ...(opts.hostCniConfig ? [] : ['--cni-config-dir', cniConfigDir]),
    '--listen', socketPath,
    '--root', root,
    '--run-root', runRoot,
    '--metrics-listen', opts.metrics === false ? '' : '127.0.0.1:0',
    '--log-format', 'json',
    ...(opts.extraArgs ?? []),
  ];
  const started = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const logLines: string[] = [];
  const clients: CriClient[] = [];
  const exited = new Promise<BerthdExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let ready: Record<string, unknown> | undefined;
  const readyPromise = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logLines.push(line);
        const record = parseJsonLine(line);
        if (record?.msg === 'berthd ready' && !ready) {
          ready = record;
          resolve(record);
        }
      }
    });
    child.stdout!.resume();
    void exited.then((exit) => reject(new Error(`berthd exited before ready (${JSON.stringify(exit)}):\n${logLines.join('\n')}`)));
  });
  const cleanup = async (): Promise<void> => {
    const running = child.exitCode === null && child.signalCode === null;
    if (running && ready) {
      const c = createCriClient(socketPath);
      await removeEverythingViaCri(c).finally(() => c.close());
    }
    for (const c of clients) c.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await sweepHost(tmpDir, root, network);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  };
  let readyRecord: Record<string, unknown>;
  try {
    readyRecord = await withTimeout(readyPromise, opts.readyTimeoutMs ?? 15000, () => `berthd not ready in time:\n${logLines.join('\n')}`);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const metrics = typeof readyRecord.metrics === 'string' && readyRecord.metrics !== 'disabled' ? readyRecord.metrics : undefined;
  return {
    tmpDir,
    socketPath,
    root,
    runRoot,
    network,
    metricsAddress: metrics,
    pid: child.pid!,
    spawnToReadyMs: Date.now() - started,
    readyRecord,
    logLines,
    exited,
    client() {
      const c = createCriClient(socketPath);
      clients.push(c);
      return c;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15000): Promise<BerthdExit> {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    cleanup,
  };
}

/** Output of a one-shot berthd command. */
export interface BerthdRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `berthd <args>` to completion with temp config files (for `config`, `version`, bad configs); `env` is added to ours. */
export async function runBerthd(
  args: string[],
  opts: Pick<BerthdOptions, 'configToml' | 'dropIns'> & { env?: Record<string, string> } = {},
  timeoutMs = 15000,
): Promise<BerthdRun> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-run-'));
  try {
    const env = { ...process.env, ...opts.env };
    const child = spawn(process.execPath, [berthdMainPath(), ...writeConfigFiles(tmpDir, opts), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** Fetches http://<address><path> and returns the body (rejects on non-200). */
export async function httpGetText(address: string, urlPath: string): Promise<string> {
  const res = await fetch(`http://${address}${urlPath}`);
  if (res.status !== 200) throw new Error(`GET ${urlPath}: HTTP ${res.status}`);
  return res.text();
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
