/**
 * The subcommand table and dispatch. Adding a command (`images import`, `runtimeclasses sync`)
 * is one file under daemon/commands/ plus one entry in COMMANDS.
 */
import { OPTIONS } from '../config-schema';
import { GENERAL_FLAGS } from '../flags';
import { EXIT_USAGE, type BerthdCommand, type CommandContext } from './command';
import { configCommand } from './config-command';
import { imagesImportCommand } from './images-import-command';
import { installCommand } from './install-command';
import { runtimeClassesSyncCommand } from './runtimeclasses-command';
import { serveCommand } from './serve-command';
import { versionCommand } from './version-command';
import { waitReadyCommand } from './wait-ready-command';

/** Every subcommand; the longest matching word sequence wins. */
export const COMMANDS: readonly BerthdCommand[] = [serveCommand, configCommand, versionCommand, runtimeClassesSyncCommand, installCommand, imagesImportCommand, waitReadyCommand];

/** Finds the command for the positional words (its words, then its operand if it takes one), or undefined. */
export function findCommand(words: readonly string[]): BerthdCommand | undefined {
  return COMMANDS.find((c) => c.words.length + (c.operand ? 1 : 0) === words.length && c.words.every((w, i) => w === words[i]));
}

/** Runs the command the context's args name; resolves to the exit code. */
export async function dispatch(ctx: CommandContext): Promise<number> {
  if (ctx.args.help) {
    ctx.stdout(usage());
    return 0;
  }
  const command = findCommand(ctx.args.command);
  if (!command) {
    ctx.stderr(`berthd: unknown command "${ctx.args.command.join(' ')}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return command.run(ctx);
}

/** The --help text, built from the command and option tables. */
export function usage(): string {
  const lines = ['Usage: berthd [command] [flags]', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${([...c.words, c.operand ?? ''].join(' ').trim() || '(none)').padEnd(22)}${c.summary}`);
  lines.push('', 'Flags:');
  for (const f of GENERAL_FLAGS) lines.push(`  ${`--${f.flag} ${f.value}`.padEnd(34)}${f.doc}`);
  for (const o of OPTIONS) {
    if (!o.flag) continue;
    const def = Array.isArray(o.default) ? o.default.join(',') : String(o.default);
    lines.push(`  ${`--${o.flag} <${o.kind === 'enum' ? o.choices?.join('|') : 'value'}>`.padEnd(34)}${o.doc} (default ${JSON.stringify(def)})`);
  }
  lines.push('', 'Every option, including file-only ones, is documented in docs/configuration.md.', '');
  return lines.join('\n');
}
