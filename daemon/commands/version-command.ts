/** `berthd version`: the berth version and the CRI API it serves. */
import { berthVersion } from '../version';
import type { BerthdCommand } from './command';

export const versionCommand: BerthdCommand = {
  words: ['version'],
  summary: 'Print the berth version.',
  async run(ctx) {
    ctx.stdout(`berthd ${berthVersion()}\nCRI API: v1\nnode: ${process.version}\n`);
    return 0;
  },
};
