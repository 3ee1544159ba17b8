/** The persisted record of one container (versioned JSON, see container-store.ts). */
import type { ImageVolumeRecord } from './image-volumes';
import type { ContainerMountInput, LinuxResourcesInput } from './spec/inputs';

/** CRI ContainerState, lower-case. */
export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export const CONTAINER_RECORD_VERSION = 1;

export interface ContainerRecord {
  version: typeof CONTAINER_RECORD_VERSION;
  id: string;
  podSandboxId: string;
  /** metadata.name / attempt. */
  name: string;
  attempt: number;
  /** k8s_<container>_<pod>_<namespace>_<uid>_<attempt>: unique, reserved before any work. */
  reservedName: string;
  /**
   * requested: config.image.image (kubelet sends the image id); id: the image id; ref: first repo
   * digest, else the id; name: what status reports as image.image (absent in records written
   * before it existed).
   */
  image: { requested: string; id: string; ref: string; name?: string };
  runtimeHandler: string;
  state: ContainerState;
  createdAtNs: number;
  startedAtNs: number;
  finishedAtNs: number;
  exitCode: number;
  /** Completed, Error, OOMKilled, or a create/start failure reason. */
  reason: string;
  message: string;
  /** Container init pid while created/running. */
  pid: number;
  /** Absolute log path ('' when the pod gave no log directory). */
  logPath: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: ContainerMountInput[];
  resources?: LinuxResourcesInput;
  user: { uid: number; gid: number; supplementalGroups: number[]; username?: string };
  stopSignal: string;
  tty: boolean;
  stdin: boolean;
  stdinOnce: boolean;
  /** Paths of the container's on-disk parts. */
  paths: { dir: string; bundle: string; rootfs: string };
  /** The rootfs overlay is mounted (so remove must unmount). */
  rootfsMounted: boolean;
  /** berth's image volume mounts (absent in records older than image volumes): remove unmounts them. */
  imageVolumes?: ImageVolumeRecord[];
  /** The cgroup path the spec gave runc (for stats). */
  cgroupsPath: string;
  /** Fingerprint of the CreateContainer request (common/config-fingerprint.ts), so a retry can be told from a conflict. */
  configFingerprint?: string;
}

/** The image name status reports: as the user wrote it, else the image's first repo tag, else the request. */
export function reportedImageName(userSpecified: string | undefined, repoTags: readonly string[], requested: string): string {
  return userSpecified || repoTags[0] || requested;
}
