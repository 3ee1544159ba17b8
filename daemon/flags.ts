/**
 * Command-line parsing: `berthd [command...] [--flag value | --flag=value]...`. Flags may appear
 * before or after the command words. Config flags come from the option table; the few others
 * (`--config`, `--config-dir`, `--help`) are declared here.
 */
import { InvalidArgumentError } from '../common/errors';
import { OPTIONS } from './config-schema';

/** Flags that are not config options. */
export const GENERAL_FLAGS = [
  { flag: 'config', value: '<file>', doc: 'Main config file (default /etc/berth/berth.toml; a missing default file is fine).' },
  { flag: 'config-dir', value: '<dir>', doc: 'Drop-in directory read after the main file, *.toml in lexical order (default /etc/berth/berth.d).' },
  { flag: 'help', value: '', doc: 'Show usage and exit.' },
] as const;

/** A flag only some commands read; `value: ''` marks a boolean flag (present = "true"). */
export interface CommandFlagSpec {
  flag: string;
  value: string;
  doc: string;
  /** The commands (space-joined words) that accept it; elsewhere it is refused. */
  commands: readonly string[];
}

/** Command-specific flags, collected in ParsedArgs.commandFlags. */
export const COMMAND_FLAGS: readonly CommandFlagSpec[] = [
  { flag: 'apply', value: '', doc: 'Write the changes (default: dry run, only report them).', commands: ['runtimeclasses sync'] },
  { flag: 'kubeconfig', value: '<file>', doc: 'kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, in-cluster).', commands: ['runtimeclasses sync'] },
  { flag: 'prefix', value: '<dir>', doc: 'Where the launcher goes: <prefix>/bin/berthd (default /usr/local).', commands: ['install'] },
  { flag: 'destdir', value: '<dir>', doc: 'Install below this directory instead of / (packaging, tests).', commands: ['install'] },
  { flag: 'dry-run', value: '', doc: 'Print what would be installed without writing.', commands: ['install'] },
  { flag: 'name', value: '<ref>', doc: 'Name for imported images the archive does not name.', commands: ['images import'] },
  { flag: 'timeout', value: '<seconds>', doc: 'How long to wait for readiness (default 60).', commands: ['wait-ready'] },
  { flag: 'exclude', value: '<checks>', doc: 'Readiness checks not to wait for, comma-separated (cri, recovery, network).', commands: ['wait-ready'] },
];

/** The parsed command line. */
export interface ParsedArgs {
  /** Positional words, e.g. ['config'] or [] for serve. */
  command: string[];
  /** Config-option flags by flag name, in command-line order (last wins). */
  optionFlags: Array<{ flag: string; value: string }>;
  configPath?: string;
  configDir?: string;
  help: boolean;
  /** Command-specific flags (COMMAND_FLAGS) by name; booleans are "true". */
  commandFlags?: Record<string, string>;
}

const OPTION_FLAGS = new Set(OPTIONS.filter((o) => o.flag).map((o) => o.flag as string));
const COMMAND_FLAG_SPECS = new Map(COMMAND_FLAGS.map((f) => [f.flag, f]));

/** Parses argv (without node and script); throws InvalidArgumentError naming the flag. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { command: [], optionFlags: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    if (arg === '--') {
      out.command.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg !== '-') throw new InvalidArgumentError(`parse flags: unknown flag ${arg}`);
      out.command.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const commandFlag = COMMAND_FLAG_SPECS.get(name);
    if (commandFlag && commandFlag.value === '') {
      if (eq !== -1) throw new InvalidArgumentError(`parse flags: --${name} takes no value`);
      (out.commandFlags ??= {})[name] = 'true';
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new InvalidArgumentError(`parse flags: --${name} needs a value`);
      value = argv[++i];
    }
    if (name === 'config') out.configPath = value;
    else if (name === 'config-dir') out.configDir = value;
    else if (OPTION_FLAGS.has(name)) out.optionFlags.push({ flag: name, value });
    else if (commandFlag) (out.commandFlags ??= {})[name] = value;
    else throw new InvalidArgumentError(`parse flags: unknown flag --${name} (see berthd --help)`);
  }
  checkCommandFlags(out);
  return out;
}

/** Refuses command flags given to a command that does not read them. */
function checkCommandFlags(args: ParsedArgs): void {
  const command = args.command.join(' ');
  for (const name of Object.keys(args.commandFlags ?? {})) {
    const spec = COMMAND_FLAG_SPECS.get(name);
    if (spec && !spec.commands.some((c) => command === c || command.startsWith(`${c} `))) {
      throw new InvalidArgumentError(`parse flags: --${name} is only for ${spec.commands.map((c) => `"berthd ${c}"`).join(', ')}`);
    }
  }
}
