/** berthd's entry point (bin/berthd): parse the command line, dispatch, exit with its code. */
// First: caps malloc arenas before any other module loads (malloc-arenas.ts says why).
import './malloc-arenas';
import { describeError } from '../common/errors';
import { dispatch } from './commands';
import { EXIT_FAILURE, EXIT_USAGE } from './commands/command';
import { parseArgs, type ParsedArgs } from './flags';

/** Runs berthd with `argv` (without node and script) and exits the process. */
export async function main(argv: readonly string[]): Promise<void> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`berthd: ${describeError(err)}\n`);
    process.exit(EXIT_USAGE);
  }
  let code: number;
  try {
    code = await dispatch({ args, stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) });
  } catch (err) {
    process.stderr.write(`berthd: ${describeError(err)}\n`);
    code = EXIT_FAILURE;
  }
  process.exit(code);
}

if (require.main === module) void main(process.argv.slice(2));
