/**
 * Paths derived from the config when an option is left empty, so every layer agrees on them
 * (documented next to each option in docs/configuration.md).
 */
import * as path from 'node:path';
import type { BerthConfig } from './config-schema';

/** The on-disk locations the layers receive. */
export interface DerivedPaths {
  /** CNI result cache (`[cni] cache_dir` or `<root>/cni/results`). */
  cniCacheDir: string;
  /** host-local IPAM data of the embedded default network. */
  ipamDataDir: string;
  /** Image store root. */
  imagesDir: string;
  /** State directory of each runtime handler (`[runtimes.<name>] root` or `<run_root>/runtimes/<name>`). */
  runtimeRoots: Record<string, string>;
}

/** Resolves the derived paths of `config`. */
export function derivedPaths(config: Pick<BerthConfig, 'root' | 'runRoot' | 'cniCacheDir' | 'runtimes'>): DerivedPaths {
  const runtimeRoots: Record<string, string> = {};
  for (const [name, rt] of Object.entries(config.runtimes)) runtimeRoots[name] = rt.root ?? path.join(config.runRoot, 'runtimes', name);
  return {
    cniCacheDir: config.cniCacheDir || path.join(config.root, 'cni', 'results'),
    ipamDataDir: path.join(config.root, 'cni', 'networks'),
    imagesDir: path.join(config.root, 'images'),
    runtimeRoots,
  };
}
