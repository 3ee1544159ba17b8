/**
 * The berthd the bench starts by default: the compiled daemon of this tree via test/e2e/support's
 * startBerthd (temp dirs, an empty CNI config dir so the embedded default network is used, on the
 * instance's own bridge and subnet) with no registries.conf (the bench registry is on 127.0.0.1,
 * which berth pulls from over plain HTTP). `cleanup()` removes the pods via CRI, stops the daemon
 * with SIGTERM (so a --cpu-prof profile gets written) and lets startBerthd's sweep remove the
 * rest (mounts, conmon/pause, bridge, masquerade rule). Never throws.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startBerthd, type BerthdInstance } from '../e2e/support/berthd';
import { removeBenchPods } from './cri-sequence';

/** A bench berthd and how to remove every trace of it. */
export interface BenchBerthd {
  readonly daemon: BerthdInstance;
  cleanup(): Promise<void>;
}

/** Starts the bench berthd and waits for "berthd ready". */
export async function startBenchBerthd(opts: { log?: (line: string) => void; extraArgs?: string[] } = {}): Promise<BenchBerthd> {
  const scratch = fs.mkdtempSync('/tmp/berth-bench-conf-');
  const daemon = await startBerthd({
    name: 'berth-bench',
    extraArgs: ['--registries-config', path.join(scratch, 'registries.conf'), ...(opts.extraArgs ?? [])],
  }).catch((err) => {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  });
  let cleaned = false;
  return {
    daemon,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      const client = daemon.client();
      const removed = await removeBenchPods(client, 20_000).catch(() => 0);
      if (removed > 0) opts.log?.(`berthd cleanup: removed ${removed} leftover pods`);
      await daemon.stop('SIGTERM', 15_000).catch(() => undefined);
      await daemon.cleanup();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
