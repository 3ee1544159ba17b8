/** Renders a config as the TOML a user could put in /etc/berth/berth.toml (`berthd config`). */
import { stringify } from 'smol-toml';
import { OPTIONS, type BerthConfig } from './config-schema';

/** The config as nested sections, in documentation order, runtimes last. */
export function configToSections(config: BerthConfig): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    let table = root;
    for (const part of spec.section.split('.')) {
      if (!(part in table)) table[part] = {};
      table = table[part] as Record<string, unknown>;
    }
    table[spec.key] = config[spec.field];
  }
  const runtimes: Record<string, unknown> = {};
  for (const [name, rt] of Object.entries(config.runtimes)) runtimes[name] = rt.root ? { path: rt.path, root: rt.root } : { path: rt.path };
  root.runtimes = runtimes;
  return root;
}

/** The effective config as TOML text. */
export function configToToml(config: BerthConfig): string {
  return stringify(configToSections(config)) + '\n';
}
