/** The shape of a berthd subcommand: one file per command under daemon/commands/. */
import type { ParsedArgs } from '../flags';

/** What a command may use; output goes through these so tests can capture it. */
export interface CommandContext {
  args: ParsedArgs;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** One subcommand, e.g. words ['config'] for `berthd config`; [] is the default (serve). */
export interface BerthdCommand {
  readonly words: readonly string[];
  readonly summary: string;
  /** A positional argument after the words (e.g. '<file>'), required when set. */
  readonly operand?: string;
  /** Runs the command; resolves to the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** Exit code for invalid flags or configuration. */
export const EXIT_USAGE = 2;
/** Exit code for a failure while running. */
export const EXIT_FAILURE = 1;
