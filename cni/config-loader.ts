/**
 * Chooses the network to use: the first valid file of the config dir in lexical order
 * (`*.conflist`, `*.conf`, `*.json`, like libcni), otherwise berth's embedded default.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../common/errors';
import { Logger } from '../common/logger';
import { validateNetworkConfigText } from './config-validation';
import { buildDefaultNetwork, DefaultNetworkOptions } from './default-network';
import { SelectedNetwork } from './types';

const CONFIG_EXTENSIONS = ['.conflist', '.conf', '.json'];

/** Source name used when the embedded default is selected. */
export const EMBEDDED_DEFAULT_SOURCE = 'embedded-default';

/** The outcome of a load: the network (if any is usable) and why files were skipped. */
export interface LoadOutcome {
  network: SelectedNetwork | undefined;
  skipped: Array<{ file: string; reason: string }>;
  /** Set when not even the default is usable (its plugins are missing). */
  problem?: string;
}

/** Loads the config dir; never throws for bad files (they are reported in `skipped`). */
export async function loadNetwork(opts: {
  configDir: string;
  pluginDirs: string[];
  defaultNetwork: DefaultNetworkOptions;
}): Promise<LoadOutcome> {
  const skipped: LoadOutcome['skipped'] = [];
  for (const name of await listConfigFiles(opts.configDir)) {
    const file = path.join(opts.configDir, name);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      skipped.push({ file, reason: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const outcome = await validateNetworkConfigText(text, opts.pluginDirs);
    if (outcome.ok) return { network: { config: outcome.config, source: file }, skipped };
    skipped.push({ file, reason: outcome.reason });
  }
  const def = await buildDefaultNetwork(opts.defaultNetwork, opts.pluginDirs);
  if (def.missing.length > 0) {
    return {
      network: undefined,
      skipped,
      problem: `no valid network config in ${opts.configDir} and the default network's plugins (${def.missing.join(', ')}) are not in ${opts.pluginDirs.join(', ')}`,
    };
  }
  return { network: { config: def.config, source: EMBEDDED_DEFAULT_SOURCE }, skipped };
}

/** Config file names in lexical (byte) order; none when the dir does not exist. */
async function listConfigFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
  return entries.filter((n) => !n.startsWith('.') && CONFIG_EXTENSIONS.includes(path.extname(n))).sort();
}

/** Logs a load outcome (skipped files as warnings, the chosen network as info). */
export function logLoadOutcome(logger: Logger, outcome: LoadOutcome, configDir: string): void {
  for (const s of outcome.skipped) logger.warn('skip invalid CNI network config', { file: s.file, reason: s.reason });
  if (!outcome.network) {
    logger.error('no usable CNI network', { configDir, problem: outcome.problem });
  } else if (outcome.network.source === EMBEDDED_DEFAULT_SOURCE) {
    logger.info('no CNI network configured; using the embedded default bridge network', {
      configDir,
      network: outcome.network.config.name,
      plugins: outcome.network.config.plugins.map((p) => p.type),
    });
  } else {
    logger.info('use CNI network', { file: outcome.network.source, network: outcome.network.config.name });
  }
}
