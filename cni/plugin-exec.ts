/**
 * Runs one CNI plugin binary: environment per the spec, config on stdin, result on stdout, a
 * timeout that kills the plugin. Failures become typed errors via plugin-error.ts.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../common/errors';
import { defaultProcessSpawner, drainPipe, type ProcessSpawner } from '../native/process-spawner';
import { CniPluginError, parsePluginFailure } from './plugin-error';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'VERSION';

/** One plugin invocation. */
export interface PluginInvocation {
  command: CniCommand;
  /** The plugin `type`; the binary is looked up in `pluginDirs`. */
  pluginType: string;
  pluginDirs: string[];
  /** CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS; omitted ones are not set. */
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  /** The full plugin configuration, serialized to stdin. */
  config: unknown;
  timeoutMs: number;
}

/** Runs plugins; an interface so the chain logic can be tested without processes. */
export interface PluginRunner {
  /** Runs the plugin; resolves with its parsed stdout JSON (undefined when empty). */
  run(inv: PluginInvocation): Promise<unknown>;
}

/** Finds the plugin binary for `type` in the first dir that has an executable file of that name. */
export async function findPluginBinary(type: string, pluginDirs: string[]): Promise<string | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type)) return undefined; // no path tricks in `type`
  for (const dir of pluginDirs) {
    const candidate = path.join(dir, type);
    try {
      const st = await fs.stat(candidate);
      if (!st.isFile()) continue;
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

/** The real runner: spawns the plugin binary. */
export class ExecPluginRunner implements PluginRunner {
  constructor(private readonly spawner: ProcessSpawner = defaultProcessSpawner()) {}

  async run(inv: PluginInvocation): Promise<unknown> {
    const binary = await findPluginBinary(inv.pluginType, inv.pluginDirs);
    if (!binary) {
      throw new CniPluginError(
        `run CNI plugin ${inv.pluginType} ${inv.command}: no executable "${inv.pluginType}" in ${inv.pluginDirs.join(', ')}`,
        { plugin: inv.pluginType, command: inv.command, kind: 'FailedPrecondition' },
      );
    }
    const env: NodeJS.ProcessEnv = { ...process.env, CNI_COMMAND: inv.command, CNI_PATH: inv.pluginDirs.join(':') };
    // Plugins read these from the environment only; never leak berthd's own CNI_* into them.
    for (const key of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS']) delete env[key];
    if (inv.containerId !== undefined) env.CNI_CONTAINERID = inv.containerId;
    if (inv.netns !== undefined) env.CNI_NETNS = inv.netns;
    if (inv.ifName !== undefined) env.CNI_IFNAME = inv.ifName;
    if (inv.args !== undefined) env.CNI_ARGS = inv.args;
    const out = await spawnWithTimeout(this.spawner, binary, env, JSON.stringify(inv.config), inv.timeoutMs, inv);
    const text = out.trim();
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new CniPluginError(
        `parse CNI plugin ${inv.pluginType} ${inv.command} output: not JSON: ${text.slice(0, 200)}`,
        { plugin: inv.pluginType, command: inv.command },
        { cause },
      );
    }
  }
}

async function spawnWithTimeout(
  spawner: ProcessSpawner,
  binary: string,
  env: NodeJS.ProcessEnv,
  stdin: string,
  timeoutMs: number,
  inv: PluginInvocation,
): Promise<string> {
  // Own session and process group, so a timeout kills what the plugin spawned too (iptables, IPAM, sleep).
  const child = await spawner.spawn(binary, [], { env, stdio: ['in', 'out', 'out'], newSession: true }).catch((err: unknown) => {
    throw new RuntimeError(`spawn CNI plugin ${inv.pluginType} ${inv.command}`, { cause: err });
  });
  const [input, stdoutPipe, stderrPipe] = [child.pipes[0]!, child.pipes[1]!, child.pipes[2]!];
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, timeoutMs);
  // EPIPE when a plugin exits without reading stdin; its exit status tells the story.
  input.on('error', () => undefined);
  input.end(stdin);
  const [{ exitCode: code, signal }] = await Promise.all([
    child.exited,
    drainPipe(stdoutPipe, (b) => stdout.push(b)),
    drainPipe(stderrPipe, (b) => stderr.push(b)),
  ]).finally(() => clearTimeout(timer));
  const outText = Buffer.concat(stdout).toString('utf8');
  if (timedOut) {
    throw new CniPluginError(`run CNI plugin ${inv.pluginType} ${inv.command}: timed out after ${timeoutMs} ms`, {
      plugin: inv.pluginType,
      command: inv.command,
      kind: 'DeadlineExceeded',
    });
  }
  if (code === 0) return outText;
  throw parsePluginFailure({
    plugin: inv.pluginType,
    command: inv.command,
    stdout: outText,
    stderr: Buffer.concat(stderr).toString('utf8'),
    exitCode: code,
    signal,
  });
}
