/**
 * The berthd the bench starts by default: the compiled daemon of this tree (test/e2e/support's
 * startBerthd) with temp dirs, an empty CNI config dir (so the embedded default network is used)
 * on its own bridge and subnet, and no registries.conf (the bench registry is on 127.0.0.1, which
 * berth pulls from over plain HTTP). `cleanup()` removes pods via CRI, stops the daemon, and
 * removes its masquerade rule, bridge, mounts and leftover processes. Never throws.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeMasquerade } from '../../cni/masquerade';
import { startBerthd, type BerthdInstance } from '../e2e/support/berthd';
import { removeBenchPods } from './cri-sequence';
import { deleteLink, killPids, pidsWithArgumentUnder, unmountBelow } from './host-cleanup';

/** A bench berthd and how to remove every trace of it. */
export interface BenchBerthd {
  readonly daemon: BerthdInstance;
  readonly socketPath: string;
  readonly pid: number;
  /** host:port of its /metrics. */
  readonly metricsAddress: string | undefined;
  cleanup(): Promise<void>;
}

/** Options of startBenchBerthd. */
export interface BenchBerthdOptions {
  bridge: string;
  subnet: string;
  /** Extra berthd flags (e.g. a node option via NODE_OPTIONS is not a flag; see main.ts). */
  extraArgs?: string[];
  log?: (line: string) => void;
}

/** Starts the bench berthd and waits for "berthd ready". */
export async function startBenchBerthd(opts: BenchBerthdOptions): Promise<BenchBerthd> {
  const networkName = `bench-${opts.bridge}`;
  const configToml = ['[cni.default_network]', `name = "${networkName}"`, `bridge = "${opts.bridge}"`, `subnet = "${opts.subnet}"`, ''].join('\n');
  const scratch = fs.mkdtempSync('/tmp/berth-bench-cni-');
  const daemon = await startBerthd({
    name: 'berth-bench',
    configToml,
    extraArgs: ['--cni-config-dir', path.join(scratch, 'net.d'), '--registries-config', path.join(scratch, 'registries.conf'), '--log-level', 'warn', ...(opts.extraArgs ?? [])],
  }).catch((err) => {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  });
  let cleaned = false;
  return {
    daemon,
    socketPath: daemon.socketPath,
    pid: daemon.pid,
    metricsAddress: daemon.metricsAddress,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      const client = daemon.client();
      const removed = await removeBenchPods(client, 20_000).catch(() => 0);
      if (removed > 0) opts.log?.(`berthd cleanup: removed ${removed} leftover pods`);
      await daemon.stop('SIGTERM', 15_000).catch(() => undefined);
      // conmon of a container that survived (pods outlive berthd by design) has args under tmpDir.
      await killPids(pidsWithArgumentUnder(daemon.tmpDir));
      await unmountBelow(daemon.tmpDir);
      await daemon.cleanup();
      await removeMasquerade(networkName, opts.subnet).catch(() => undefined);
      await deleteLink(opts.bridge);
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
