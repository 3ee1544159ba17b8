/**
 * Renders docs/configuration.md from the option table, so the reference cannot drift from the
 * code: `node scripts/gen-config-doc.js` writes it and a unit test fails when it is stale.
 */
import { defaultRuntimes, OPTIONS } from './config-schema';
import { DEFAULT_CONFIG_DIR, DEFAULT_CONFIG_PATH } from './config';
import { configToToml } from './config-toml';
import { defaultConfig } from './config-schema';

/** The full Markdown text of docs/configuration.md. */
export function renderConfigDoc(): string {
  const out: string[] = [];
  out.push('# berthd configuration');
  out.push('');
  out.push('<!-- Generated from daemon/config-schema.ts by `node scripts/gen-config-doc.js`; do not edit by hand. -->');
  out.push('');
  out.push('berthd builds its configuration in layers, each overriding the one before:');
  out.push('');
  out.push('1. built-in defaults (the table below);');
  out.push(`2. the main file \`${DEFAULT_CONFIG_PATH}\` (\`--config\`; a missing default file is fine, a missing \`--config\` file is an error);`);
  out.push(`3. drop-ins \`${DEFAULT_CONFIG_DIR}/*.toml\` in lexical order (\`--config-dir\`);`);
  out.push('4. command-line flags.');
  out.push('');
  out.push('Unknown keys are logged as warnings and ignored. A value of the wrong type or out of range makes');
  out.push('berthd exit with status 2 and a message naming the section and key, e.g.');
  out.push('`[daemon] cgroup_driver: must be one of cgroupfs, systemd, got "cgroup" (from /etc/berth/berth.toml)`.');
  out.push('`berthd config` prints the effective configuration (with the same flags) as TOML.');
  out.push('');
  out.push('## Options');
  out.push('');
  out.push('| section | key | flag | default | description |');
  out.push('|---|---|---|---|---|');
  for (const o of OPTIONS) {
    const def = Array.isArray(o.default) ? `[${o.default.map((d) => JSON.stringify(d)).join(', ')}]` : JSON.stringify(o.default);
    const flag = o.flag ? `\`--${o.flag}\`` : '';
    const choices = o.kind === 'enum' && o.choices ? ` One of: ${o.choices.join(', ')}.` : '';
    out.push(`| \`[${o.section}]\` | \`${o.key}\` | ${flag} | \`${def}\` | ${escapeCell(o.doc)}${choices} |`);
  }
  out.push('');
  out.push('## Runtime handlers');
  out.push('');
  out.push('Each `[runtimes.<name>]` section configures one OCI runtime, offered to Kubernetes as the');
  out.push('RuntimeClass handler `<name>`. Keys: `path` (absolute path of the binary, required) and `root`');
  out.push('(its state directory; default `<run_root>/runtimes/<name>`). Drop-ins may add handlers or change');
  out.push('one key of an existing handler. `[runtime] default_runtime` must name one of them.');
  out.push('');
  out.push('Default handlers:');
  out.push('');
  for (const [name, rt] of Object.entries(defaultRuntimes())) out.push(`- \`${name}\`: \`${rt.path}\``);
  out.push('');
  out.push('crun refuses cgroup v1 "hybrid" hosts; runc works there, which is why runc is the default.');
  out.push('');
  out.push('## The defaults as a file');
  out.push('');
  out.push('```toml');
  out.push(configToToml(defaultConfig()).trimEnd());
  out.push('```');
  out.push('');
  return out.join('\n');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}
