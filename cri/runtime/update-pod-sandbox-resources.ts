/**
 * UpdatePodSandboxResources: kubelet's in-place resize tells the runtime the pod cgroup's new
 * limits (`resources`, overhead already counted in by kubelet; `overhead` alone is informational
 * and not applied twice). berth writes them into the pod-level cgroup (PodManager).
 */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { PodHandlerDeps } from './pod-handlers';
import { resourcesFromWire } from './container-request-convert';

/** Handler for UpdatePodSandboxResources. */
export function updatePodSandboxResources(deps: PodHandlerDeps) {
  return async (request: runtime.v1.IUpdatePodSandboxResourcesRequest, _call: CallContext): Promise<runtime.v1.IUpdatePodSandboxResourcesResponse> => {
    if (!request.podSandboxId) throw new InvalidArgumentError('pod_sandbox_id: is required');
    const r = resourcesFromWire(request.resources) ?? {};
    await deps.pods.updatePodSandboxResources(request.podSandboxId, {
      cpuPeriod: r.cpuPeriod,
      cpuQuota: r.cpuQuota,
      cpuShares: r.cpuShares,
      memoryLimitInBytes: r.memoryLimitInBytes,
      memorySwapLimitInBytes: r.memorySwapLimitInBytes,
      cpusetCpus: r.cpusetCpus,
      cpusetMems: r.cpusetMems,
    });
    return {};
  };
}
