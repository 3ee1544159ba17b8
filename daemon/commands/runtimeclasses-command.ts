/** `berthd runtimeclasses sync [--apply] [--kubeconfig P]`: a RuntimeClass per configured runtime handler. */
import { describeError } from '../../common/errors';
import { kubeRuntimeClassApi, type RuntimeClassApi } from '../runtimeclasses/kube-api';
import { conflictsError, formatSyncReport, syncRuntimeClasses } from '../runtimeclasses/sync';
import { EXIT_FAILURE, EXIT_USAGE, type BerthdCommand } from './command';
import { loadConfigOrReport } from './load-config';

/** Builds the command; tests pass another API factory. */
export function makeRuntimeClassesSyncCommand(apiFor: (kubeconfig?: string) => Promise<RuntimeClassApi> = kubeRuntimeClassApi): BerthdCommand {
  return {
    words: ['runtimeclasses', 'sync'],
    summary: 'Create/update a RuntimeClass per [runtimes] handler (dry run; --apply writes; --kubeconfig <file>).',
    async run(ctx) {
      const loaded = loadConfigOrReport(ctx);
      if (!loaded) return EXIT_USAGE;
      const handlers = Object.keys(loaded.config.runtimes);
      const flags = ctx.args.commandFlags ?? {};
      try {
        const api = await apiFor(flags.kubeconfig);
        const report = await syncRuntimeClasses(api, handlers, flags.apply === 'true');
        ctx.stdout(formatSyncReport(report));
        const conflicts = conflictsError(report);
        if (conflicts) {
          ctx.stderr(`berthd: ${conflicts.message}\n`);
          return EXIT_FAILURE;
        }
        return 0;
      } catch (err) {
        ctx.stderr(`berthd: runtimeclasses sync: ${describeError(err)}\n`);
        return EXIT_FAILURE;
      }
    },
  };
}

export const runtimeClassesSyncCommand = makeRuntimeClassesSyncCommand();
