/**
 * A ContainerManager on real runc + conmon over a pod e2e environment's PodManager (pause + CNI),
 * with the busybox test rootfs as its one image `busybox:e2e`, and the cleanup that removes every
 * container, runc state and mount it left.
 */
import * as path from 'node:path';
import { silentLogger } from '../../../common/logger';
import { loadNativeBinding } from '../../../native/addon';
import type { ContainerManager } from '../../../runtime/container-manager';
import { openContainerManager } from '../../../runtime/open-container-manager';
import type { PodEnv } from '../pod-support';
import { StaticImages, TrackedNative, buildBusyboxRootfs, sh } from '../runtime-support';

/** What removeContainersAndMounts undoes. */
export interface ContainerParts {
  manager?: ContainerManager;
  /** runc's --root, for containers the manager no longer knows. */
  runcRoot?: string;
  native?: TrackedNative;
}

/** The manager and what it runs on. */
export interface PodContainers extends ContainerParts {
  manager: ContainerManager;
  runcRoot: string;
  native: TrackedNative;
}

/** Opens a ContainerManager on `podEnv`'s pods; the pod hooks stop and remove its containers. */
export async function openPodContainers(podEnv: PodEnv): Promise<PodContainers> {
  const lower = path.join(podEnv.tmp, 'layers', 'busybox');
  await buildBusyboxRootfs(lower);
  const native = new TrackedNative();
  const runcRoot = path.join(podEnv.tmp, 'crun-root', 'runtimes', 'runc');
  const manager = await openContainerManager({
    root: path.join(podEnv.tmp, 'croot'),
    runRoot: path.join(podEnv.tmp, 'crun-root'),
    runtimes: { runc: { path: '/usr/sbin/runc' } },
    defaultRuntime: 'runc',
    conmonPath: '/usr/bin/conmon',
    cgroupDriver: 'cgroupfs',
    sandboxes: podEnv.pods,
    images: new StaticImages({ 'busybox:e2e': { id: 'sha256:busybox', repoTags: ['busybox:e2e'], repoDigests: [], config: { Cmd: ['sh'], Env: ['PATH=/bin'] }, lowerDirs: [lower] } }),
    native,
    logger: silentLogger,
  });
  podEnv.pods.setContainersHook({ stopAll: (id) => manager.stopAllInPod(id), removeAll: (id) => manager.removeAllInPod(id) });
  return { manager, runcRoot, native };
}

/** Removes every container (also those only runc knows), closes the manager, detaches every mount. Never throws. */
export async function removeContainersAndMounts(parts: ContainerParts | undefined): Promise<void> {
  const { manager, runcRoot, native } = parts ?? {};
  if (manager) {
    for (const c of manager.listContainers()) await manager.removeContainer(c.id).catch(() => undefined);
    // An exited container's teardown (runc delete, unmounts) follows RemoveContainer's answer.
    await manager.removalsSettled().catch(() => undefined);
    manager.close();
  }
  if (runcRoot) {
    const left = await sh('/usr/sbin/runc', ['--root', runcRoot, 'list', '-q']).catch(() => '');
    for (const id of left.split('\n').filter(Boolean)) await sh('/usr/sbin/runc', ['--root', runcRoot, 'delete', '-f', id]).catch(() => undefined);
  }
  for (const m of native ? [...native.mounted] : []) await native!.unmount(m, ['detach']).catch(() => undefined);
}

/** Gives a mount-only native the terminal and seqpacket calls of the addon, as the daemon passes the whole binding. */
export function addStreamingOps(native: TrackedNative): void {
  const addon = loadNativeBinding();
  Object.assign(native, {
    openPty: () => addon.openPty(),
    setWindowSize: (fd: number, rows: number, cols: number) => addon.setWindowSize(fd, rows, cols),
    connectSeqpacket: addon.connectSeqpacket.bind(addon),
    streamFd: addon.streamFd.bind(addon),
  });
}
