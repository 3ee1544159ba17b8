/**
 * Bench section: image pulls from a local docker-registry (test images built from
 * busybox-static). Measures a busybox-sized pull (median of N into a fresh store each time) and a
 * ~50 MB 3-layer pull (ms, MB/s of compressed bytes), against `skopeo copy` of the same image to
 * a local dir on the same machine. The daemon's bench main calls `benchImagePull()`.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { silentLogger } from '../../common/logger';
import { ImageService } from '../../image/image-service';
import { EMPTY_REGISTRIES_CONFIG } from '../../image/registries-config';
import { AddonUnpackNative } from '../e2e/support/addon-unpack';
import { startRegistry } from '../e2e/support/registry';
import { bigImage, busyboxImage, pushImage } from '../e2e/support/test-images';

const run = promisify(execFile);

export interface ImagePullBenchOptions {
  /** Busybox pulls to take the median of (default 10). */
  readonly runs?: number;
  /** Size of the big image in MB (default 50). */
  readonly bigMB?: number;
  /** Big-image pulls (and skopeo copies) to take the median of (default 5). */
  readonly bigRuns?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface ImagePullBenchResult {
  readonly busyboxBytes: number;
  readonly busyboxRunsMs: number[];
  readonly busyboxMedianMs: number;
  readonly bigBytes: number;
  readonly bigMedianMs: number;
  readonly bigMBps: number;
  readonly skopeoMedianMs: number;
  readonly skopeoMBps: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** Runs the image pull bench and returns its numbers. */
export async function benchImagePull(opts: ImagePullBenchOptions = {}): Promise<ImagePullBenchResult> {
  const runs = opts.runs ?? 10;
  const bigRuns = opts.bigRuns ?? 5;
  const log = opts.log ?? (() => undefined);
  const native = new AddonUnpackNative();
  const registry = await startRegistry();
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-image-'));
  try {
    const busybox = await busyboxImage();
    const big = await bigImage(opts.bigMB ?? 50);
    await pushImage(registry.host, 'bench/busybox', 'latest', busybox);
    await pushImage(registry.host, 'bench/big', 'latest', big);
    const sizeOf = (img: typeof big): number => img.config.length + img.layers.reduce((n, l) => n + l.size, 0);

    // Every pull and copy gets a fresh directory, and none is deleted before the end: on an ext4
    // without a journal (this VM's root) the allocator skips inodes freed in the last ~30 s one
    // by one, so deleting the previous store right before a pull timed mostly the kernel
    // (busybox's 268 symlinks: 3-6 ms in a fresh directory, 30-150 ms after a delete).
    const pullFresh = async (name: string, i: number): Promise<number> => {
      const dir = path.join(tmp, `store-${i}`);
      const svc = await ImageService.create({ dir, registries: EMPTY_REGISTRIES_CONFIG, native, logger: silentLogger });
      const t0 = process.hrtime.bigint();
      await svc.pullImage(name);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const skopeoCopy = async (i: number): Promise<number> => {
      const dest = path.join(tmp, `skopeo-${i}`);
      const t0 = process.hrtime.bigint();
      await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/bench/big:latest`, `dir:${dest}`]);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };

    await pullFresh(`${registry.host}/bench/busybox:latest`, -1); // warm-up: connections, page cache
    const busyboxRunsMs: number[] = [];
    for (let i = 0; i < runs; i++) busyboxRunsMs.push(round(await pullFresh(`${registry.host}/bench/busybox:latest`, i)));
    log(`image pull busybox (${(sizeOf(busybox) / 1e6).toFixed(1)} MB): median ${round(median(busyboxRunsMs))} ms of ${runs}`);

    // berth and skopeo alternate, the order swapped each round, so both see the same load.
    const bigMs: number[] = [];
    const skopeoMs: number[] = [];
    for (let i = 0; i < bigRuns; i++) {
      if (i % 2 === 0) {
        bigMs.push(await pullFresh(`${registry.host}/bench/big:latest`, 100 + i));
        skopeoMs.push(await skopeoCopy(i));
      } else {
        skopeoMs.push(await skopeoCopy(i));
        bigMs.push(await pullFresh(`${registry.host}/bench/big:latest`, 100 + i));
      }
    }
    const bigBytes = sizeOf(big);
    const bigMedianMs = median(bigMs);
    const skopeoMedianMs = median(skopeoMs);
    const result: ImagePullBenchResult = {
      busyboxBytes: sizeOf(busybox),
      busyboxRunsMs,
      busyboxMedianMs: round(median(busyboxRunsMs)),
      bigBytes,
      bigMedianMs: round(bigMedianMs),
      bigMBps: round(bigBytes / 1e6 / (bigMedianMs / 1000)),
      skopeoMedianMs: round(skopeoMedianMs),
      skopeoMBps: round(bigBytes / 1e6 / (skopeoMedianMs / 1000)),
    };
    log(
      `image pull big (${(bigBytes / 1e6).toFixed(1)} MB, ${big.layers.length} layers): berth ${result.bigMedianMs} ms = ${result.bigMBps} MB/s (pull + unpack); ` +
        `skopeo copy to dir ${result.skopeoMedianMs} ms = ${result.skopeoMBps} MB/s (download only)`,
    );
    return result;
  } finally {
    await registry.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchImagePull({ log: (l) => console.log(l) })
    .then((r) => console.log(JSON.stringify(r)))
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
