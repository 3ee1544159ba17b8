/**
 * Runs a network configuration list against one attachment, per CNI SPEC.md "Network
 * configuration list runtime semantics": ADD in order with each result as the next plugin's
 * `prevResult`; DEL in reverse order with the ADD result as `prevResult` (from 0.4.0); CHECK in
 * order (from 0.4.0, unless `disableCheck`); STATUS per plugin (from 1.1.0).
 */
import { BerthError } from '../common/errors';
import { timeAsync } from '../common/timed';
import { atLeast } from './cni-version';
import { CniErrorCode, CniPluginError } from './plugin-error';
import { CniCommand, PluginRunner } from './plugin-exec';
import { buildPluginConfig } from './runtime-args';
import { CniResult, NetworkConfigList } from './types';

/** The per-attachment inputs shared by every plugin call. */
export interface AttachmentContext {
  containerId: string;
  /** '' means "no netns" (allowed for DEL when the namespace is already gone). */
  netns: string;
  ifName: string;
  cniArgs: string;
  capabilityArgs: Record<string, unknown>;
}

/** Settings shared by all chain operations. */
export interface ChainSettings {
  runner: PluginRunner;
  pluginDirs: string[];
  timeoutMs: number;
  /** Called after each plugin call with its duration (for logs and metrics). */
  onPluginDone?: (plugin: string, command: CniCommand, ms: number, ok: boolean) => void;
}

/** ADD failed after some plugins succeeded; `partialResult` is the last result seen. */
export class ChainAddError extends BerthError {
  constructor(
    message: string,
    readonly partialResult: CniResult | undefined,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** Runs ADD through the list; resolves with the final result. */
export async function addChain(list: NetworkConfigList, ctx: AttachmentContext, s: ChainSettings): Promise<CniResult> {
  let prevResult: CniResult | undefined;
  for (const plugin of list.plugins) {
    const config = buildPluginConfig(list, plugin, ctx.capabilityArgs, prevResult);
    try {
      const out = await timed(s, plugin.type, 'ADD', () =>
        s.runner.run({ ...invocationBase(ctx, s), command: 'ADD', pluginType: plugin.type, config }),
      );
      if (isObject(out)) prevResult = out as CniResult;
    } catch (cause) {
      throw new ChainAddError(`add network ${list.name} (plugin ${plugin.type})`, prevResult, { cause });
    }
  }
  if (!prevResult) {
    throw new ChainAddError(`add network ${list.name}: no plugin returned a result`, undefined, {
      cause: new CniPluginError('empty ADD result', { plugin: list.plugins[list.plugins.length - 1]!.type, command: 'ADD' }),
    });
  }
  return prevResult;
}

/**
 * Runs DEL through the list in reverse, stopping at the first failure as SPEC.md ("Network
 * configuration list error handling") requires; the caller keeps its cache and a retry reruns
 * the whole list (DEL must be idempotent). Code 3 ("container unknown") means that plugin has
 * nothing to clean, so it counts as success.
 */
export async function delChain(
  list: NetworkConfigList,
  ctx: AttachmentContext,
  result: CniResult | undefined,
  s: ChainSettings,
): Promise<void> {
  const prevResult = atLeast(list.cniVersion, '0.4.0') ? result : undefined;
  for (const plugin of [...list.plugins].reverse()) {
    const config = buildPluginConfig(list, plugin, ctx.capabilityArgs, prevResult);
    try {
      await timed(s, plugin.type, 'DEL', () =>
        s.runner.run({ ...invocationBase(ctx, s), command: 'DEL', pluginType: plugin.type, config }),
      );
    } catch (err) {
      if (err instanceof CniPluginError && err.cniCode === CniErrorCode.ContainerUnknown) continue;
      throw new CniChainError(`delete network ${list.name} (plugin ${plugin.type})`, { cause: err });
    }
  }
}

/** Runs CHECK through the list; a no-op for versions before 0.4.0 or with `disableCheck`. */
export async function checkChain(
  list: NetworkConfigList,
  ctx: AttachmentContext,
  result: CniResult | undefined,
  s: ChainSettings,
): Promise<void> {
  if (!atLeast(list.cniVersion, '0.4.0') || list.disableCheck) return;
  for (const plugin of list.plugins) {
    const config = buildPluginConfig(list, plugin, ctx.capabilityArgs, result);
    try {
      await timed(s, plugin.type, 'CHECK', () =>
        s.runner.run({ ...invocationBase(ctx, s), command: 'CHECK', pluginType: plugin.type, config }),
      );
    } catch (cause) {
      throw new CniChainError(`check network ${list.name} (plugin ${plugin.type})`, { cause });
    }
  }
}

/** Asks each plugin for STATUS (1.1.0+ lists only); throws the first plugin's failure. */
export async function statusChain(list: NetworkConfigList, s: ChainSettings): Promise<void> {
  if (!atLeast(list.cniVersion, '1.1.0')) return;
  for (const plugin of list.plugins) {
    const config = buildPluginConfig(list, plugin, {}, undefined);
    try {
      await timed(s, plugin.type, 'STATUS', () =>
        s.runner.run({ command: 'STATUS', pluginType: plugin.type, pluginDirs: s.pluginDirs, config, timeoutMs: s.timeoutMs }),
      );
    } catch (cause) {
      throw new CniChainError(`get status of network ${list.name} (plugin ${plugin.type})`, { cause });
    }
  }
}

/** A chain operation failed; the typed plugin error is the cause and decides the kind. */
class CniChainError extends BerthError {}

function invocationBase(ctx: AttachmentContext, s: ChainSettings) {
  return {
    pluginDirs: s.pluginDirs,
    containerId: ctx.containerId,
    netns: ctx.netns,
    ifName: ctx.ifName,
    args: ctx.cniArgs,
    timeoutMs: s.timeoutMs,
  };
}

function timed<T>(s: ChainSettings, plugin: string, command: CniCommand, fn: () => Promise<T>): Promise<T> {
  const done = s.onPluginDone;
  return done ? timeAsync(fn, (seconds, ok) => done(plugin, command, seconds * 1000, ok)) : fn();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
