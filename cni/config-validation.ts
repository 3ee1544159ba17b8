/**
 * Validation of network configuration files: a `.conflist` (list) or a `.conf`/`.json` single
 * plugin (wrapped into a one-plugin list, as libcni does). Returns the reason a file is unusable
 * instead of throwing, so the loader can log it and move on to the next file.
 */
import { isSupportedCniVersion, SUPPORTED_CNI_VERSIONS } from './cni-version';
import { findPluginBinary } from './plugin-exec';
import { NetworkConfigList, PluginConf } from './types';

/** Network names per the CNI spec ("must be unique across all network configurations"). */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export type ValidationOutcome = { ok: true; config: NetworkConfigList } | { ok: false; reason: string };

/** Parses and validates the text of a config file; `isList` is decided by the caller from content. */
export async function validateNetworkConfigText(text: string, pluginDirs: string[]): Promise<ValidationOutcome> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const obj = value as Record<string, unknown>;
  const list = 'plugins' in obj ? obj : wrapSinglePlugin(obj);
  return validateNetworkConfigList(list, pluginDirs);
}

/** A single-plugin `.conf` becomes a list whose one plugin keeps the whole original object. */
function wrapSinglePlugin(conf: Record<string, unknown>): Record<string, unknown> {
  return { cniVersion: conf.cniVersion, name: conf.name, plugins: [conf] };
}

/** Validates a list object: version, name, plugins with types whose binaries exist. */
async function validateNetworkConfigList(
  obj: Record<string, unknown>,
  pluginDirs: string[],
): Promise<ValidationOutcome> {
  if (!isSupportedCniVersion(obj.cniVersion)) {
    return {
      ok: false,
      reason: `cniVersion ${JSON.stringify(obj.cniVersion)} is not supported (supported: ${SUPPORTED_CNI_VERSIONS.join(', ')})`,
    };
  }
  if (typeof obj.name !== 'string' || !NETWORK_NAME.test(obj.name)) {
    return { ok: false, reason: `name ${JSON.stringify(obj.name)} is missing or invalid` };
  }
  if (!Array.isArray(obj.plugins) || obj.plugins.length === 0) {
    return { ok: false, reason: 'plugins must be a non-empty array' };
  }
  const plugins: PluginConf[] = [];
  for (const [i, p] of obj.plugins.entries()) {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return { ok: false, reason: `plugins[${i}] is not an object` };
    const plugin = p as Record<string, unknown>;
    if (typeof plugin.type !== 'string' || plugin.type === '') {
      return { ok: false, reason: `plugins[${i}] has no type` };
    }
    if (plugin.capabilities !== undefined && (typeof plugin.capabilities !== 'object' || plugin.capabilities === null)) {
      return { ok: false, reason: `plugins[${i}].capabilities is not an object` };
    }
    if (!(await findPluginBinary(plugin.type, pluginDirs))) {
      return { ok: false, reason: `plugin binary "${plugin.type}" not found in ${pluginDirs.join(', ')}` };
    }
    plugins.push(plugin as PluginConf);
  }
  const config: NetworkConfigList = { cniVersion: obj.cniVersion, name: obj.name, plugins };
  if (obj.disableCheck === true) config.disableCheck = true;
  return { ok: true, config };
}
