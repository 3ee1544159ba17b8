/**
 * The images the CRI bench needs, built locally (no internet) and pushed to a registry the bench
 * runs itself, so that any runtime under test pulls the same bytes by the same reference:
 * - `bench/busybox:latest`  the container image (busybox-static, test-images.ts);
 * - `bench/pull:latest`     a busybox variant with its own layer digest, pulled and removed in
 *                           the image section (a shared layer would make every pull after the
 *                           first a no-op for the layer);
 * - `bench/pause:latest`    a scratch image holding berth's static native pause as `/pause`,
 *                           the `sandbox_image` of runtimes that run pause as a container.
 */
import { readFileSync } from 'node:fs';
import { pauseExecutablePath } from '../../native/addon';
import { startRegistry, type TestRegistry } from '../e2e/support/registry';
import { buildImage, busyboxImage, busyboxLayerEntries, pushImage, type BuiltImage } from '../e2e/support/test-images';

/** References of the pushed bench images. */
export interface BenchImages {
  registry: TestRegistry;
  /** Image of the containers (`<host>/bench/busybox:latest`). */
  container: string;
  /** Image pulled and removed by the image section. */
  pull: string;
  /** Pause image for runtimes that need one (containerd's sandbox_image). */
  pause: string;
  /** Size of the pull image (config + compressed layers) in bytes. */
  pullBytes: number;
}

/** A scratch image with the static pause binary as its entrypoint, running as 65535. */
export function pauseImage(executable = pauseExecutablePath()): Promise<BuiltImage> {
  return buildImage({
    layers: [[{ name: 'pause', content: readFileSync(executable), mode: 0o755 }]],
    // No Cmd: an inherited ["/bin/sh"] would be passed to pause as an argument.
    config: { Entrypoint: ['/pause'], Cmd: [], User: '65535:65535', Env: [] },
  });
}

/** busybox with one extra file, so that its layer digest differs from the container image's. */
export function pullImage(): Promise<BuiltImage> {
  return buildImage({
    layers: [[...busyboxLayerEntries(), { name: 'etc/berth-bench', content: 'pulled by the bench\n' }]],
    config: { Labels: { 'io.berth.bench': 'pull' } },
  });
}

/** Starts a registry and pushes the three bench images to it. */
export async function prepareBenchImages(): Promise<BenchImages> {
  const registry = await startRegistry();
  try {
    const [busybox, pull, pause] = await Promise.all([busyboxImage(), pullImage(), pauseImage()]);
    await pushImage(registry.host, 'bench/busybox', 'latest', busybox);
    await pushImage(registry.host, 'bench/pull', 'latest', pull);
    await pushImage(registry.host, 'bench/pause', 'latest', pause);
    return {
      registry,
      container: `${registry.host}/bench/busybox:latest`,
      pull: `${registry.host}/bench/pull:latest`,
      pause: `${registry.host}/bench/pause:latest`,
      pullBytes: pull.config.length + pull.layers.reduce((n, l) => n + l.size, 0),
    };
  } catch (err) {
    await registry.stop();
    throw err;
  }
}
