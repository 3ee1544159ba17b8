/** A ContainerStatusView for tests of what reads container statuses. */
import type { ContainerStatusView } from '../container-view';

/** A running container `id` of pod `podSandboxId` (named `id`, image `i`, pid 1); `patch` overrides fields. */
export function runningContainerView(id: string, podSandboxId: string, patch: Partial<ContainerStatusView> = {}): ContainerStatusView {
  return {
    id,
    podSandboxId,
    name: id,
    attempt: 0,
    state: 'running',
    createdAtNs: 1,
    startedAtNs: 1,
    finishedAtNs: 0,
    exitCode: 0,
    image: { requested: 'i', id: 'i', ref: 'i', name: 'i' },
    stopSignal: '',
    reason: '',
    message: '',
    labels: {},
    annotations: {},
    mounts: [],
    logPath: '',
    user: { uid: 0, gid: 0, supplementalGroups: [] },
    pid: 1,
    ...patch,
  };
}
