/**
 * `berthd wait-ready [--timeout <s>] [--exclude <checks>]`: polls the running daemon until it is
 * ready, for systemd's ExecStartPost (curl is not guaranteed on a node). It asks `/readyz` on
 * `[metrics] listen`; with metrics disabled it can only check that the CRI socket accepts
 * connections (the socket is opened after recovery, so that covers the cri and recovery checks);
 * the same with port 0, whose real port only the daemon's log knows.
 */
import * as net from 'node:net';
import { describeError } from '../../common/errors';
import { parseHostPort } from '../config-validate';
import { READINESS_CHECKS } from '../health';
import { EXIT_FAILURE, EXIT_USAGE, type BerthdCommand } from './command';
import { loadConfigOrReport } from './load-config';

/** One probe: ready or why not. */
export type ReadyProbe = () => Promise<{ ready: boolean; detail: string }>;

const DEFAULT_TIMEOUT_S = 60;
const POLL_MS = 250;
const PROBE_TIMEOUT_MS = 2000;

export const waitReadyCommand: BerthdCommand = {
  words: ['wait-ready'],
  summary: 'Wait until the running berthd is ready (/readyz, or its CRI socket when metrics are off).',
  async run(ctx) {
    const flags = ctx.args.commandFlags ?? {};
    const timeoutS = flags.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(flags.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS < 0) {
      ctx.stderr(`berthd: --timeout: want a number of seconds >= 0, got ${JSON.stringify(flags.timeout)}\n`);
      return EXIT_USAGE;
    }
    const exclude = (flags.exclude ?? '').split(',').map((s) => s.trim()).filter((s) => s);
    const unknown = exclude.filter((name) => !(READINESS_CHECKS as readonly string[]).includes(name));
    if (unknown.length > 0) {
      ctx.stderr(`berthd: --exclude: unknown check(s) ${unknown.join(', ')}; checks are ${READINESS_CHECKS.join(', ')}\n`);
      return EXIT_USAGE;
    }
    const loaded = loadConfigOrReport(ctx);
    if (!loaded) return EXIT_USAGE;
    const { config } = loaded;
    let probe: ReadyProbe;
    let what: string;
    const hostPort = parseHostPort(config.metricsListen);
    // Port 0 (a free port chosen at start) cannot be found from here: fall back to the socket.
    if (hostPort && hostPort.port !== 0) {
      const url = readyzUrl(hostPort.host, hostPort.port, exclude);
      probe = httpReadyProbe(url);
      what = url;
    } else {
      probe = socketReadyProbe(config.listen);
      what = `unix:${config.listen}`;
    }
    const outcome = await waitUntilReady(probe, timeoutS * 1000);
    if (outcome.ready) {
      ctx.stdout(`berthd ready (${what})\n`);
      return 0;
    }
    ctx.stderr(`berthd: not ready after ${timeoutS} s (${what}):\n${outcome.detail.trimEnd()}\n`);
    return EXIT_FAILURE;
  },
};

/** Polls `probe` until it says ready or `timeoutMs` passed; returns the last answer. */
export async function waitUntilReady(probe: ReadyProbe, timeoutMs: number, pollMs = POLL_MS): Promise<{ ready: boolean; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer.ready || Date.now() + pollMs > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The /readyz URL for a listen address; a wildcard address is probed on loopback. */
export function readyzUrl(host: string, port: number, exclude: readonly string[] = []): string {
  const target = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const hostPart = target.includes(':') ? `[${target}]` : target;
  const query = ['verbose', ...exclude.map((name) => `exclude=${encodeURIComponent(name)}`)].join('&');
  return `http://${hostPart}:${port}/readyz?${query}`;
}

/** Ready when GET `url` answers 200. */
export function httpReadyProbe(url: string): ReadyProbe {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      const body = await res.text();
      return { ready: res.status === 200, detail: `HTTP ${res.status}\n${body}` };
    } catch (err) {
      return { ready: false, detail: `GET ${url}: ${describeError(err)}` };
    }
  };
}

/** Ready when the unix socket at `path` accepts a connection. */
export function socketReadyProbe(path: string): ReadyProbe {
  return () =>
    new Promise((resolve) => {
      const socket = net.connect(path);
      const done = (ready: boolean, detail: string) => {
        socket.destroy();
        resolve({ ready, detail });
      };
      socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false, `connect ${path}: timed out`));
      socket.once('connect', () => done(true, `connected to ${path}`));
      socket.once('error', (err) => done(false, `connect ${path}: ${err.message}`));
    });
}
