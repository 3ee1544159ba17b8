/** Config loading shared by commands: problems are printed for humans, not thrown. */
import { describeError } from '../../common/errors';
import { ConfigInvalidError, loadConfig, type LoadedConfig } from '../config';
import type { CommandContext } from './command';

/**
 * The loaded config, or undefined after printing why it is invalid. Warnings go to stderr as
 * text unless `printWarnings` is false (the daemon logs them as structured lines instead).
 */
export function loadConfigOrReport(ctx: CommandContext, printWarnings = true): LoadedConfig | undefined {
  try {
    const loaded = loadConfig({ configPath: ctx.args.configPath, configDir: ctx.args.configDir, optionFlags: ctx.args.optionFlags });
    if (printWarnings) for (const w of loaded.warnings) ctx.stderr(`berthd: warning: ${w}\n`);
    return loaded;
  } catch (err) {
    if (err instanceof ConfigInvalidError) ctx.stderr(`berthd: ${err.message}\n`);
    else ctx.stderr(`berthd: load configuration: ${describeError(err)}\n`);
    return undefined;
  }
}
