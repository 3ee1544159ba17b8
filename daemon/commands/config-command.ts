/** `berthd config`: prints the effective configuration (defaults + files + flags) as TOML. */
import { configToToml } from '../config-toml';
import { loadConfigOrReport } from './load-config';
import type { BerthdCommand } from './command';
import { EXIT_USAGE } from './command';

export const configCommand: BerthdCommand = {
  words: ['config'],
  summary: 'Print the effective configuration as TOML (warnings go to stderr).',
  async run(ctx) {
    const loaded = loadConfigOrReport(ctx);
    if (!loaded) return EXIT_USAGE;
    const sources = loaded.files.length > 0 ? loaded.files.join(', ') : 'built-in defaults only';
    ctx.stdout(`# berthd effective configuration (files: ${sources})\n` + configToToml(loaded.config));
    return 0;
  },
};
