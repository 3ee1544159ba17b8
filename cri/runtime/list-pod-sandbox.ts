/** ListPodSandbox, served from memory with the id/state/label filters applied in pod/. */
import type { SandboxFilter } from '../../pod/types';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { PodHandlerDeps } from './pod-handlers';
import { metadataOf, stateOf } from './pod-sandbox-status';

/** Handler for ListPodSandbox. */
export function listPodSandbox(deps: PodHandlerDeps) {
  return async (request: runtime.v1.IListPodSandboxRequest, _call: CallContext): Promise<runtime.v1.IListPodSandboxResponse> => {
    const items = deps.pods.listPodSandboxes(filterOf(request.filter)).map(
      (info): runtime.v1.IPodSandbox => ({
        id: info.id,
        metadata: metadataOf(info),
        state: stateOf(info),
        createdAt: info.createdAt,
        labels: { ...info.labels },
        annotations: { ...info.annotations },
        runtimeHandler: info.runtimeHandler,
      }),
    );
    return { items };
  };
}

function filterOf(filter: runtime.v1.IPodSandboxFilter | null | undefined): SandboxFilter | undefined {
  if (!filter) return undefined;
  const out: SandboxFilter = {};
  if (filter.id) out.id = filter.id;
  if (filter.state) {
    out.state = filter.state.state === runtime.v1.PodSandboxState.SANDBOX_READY ? 'ready' : 'notready';
  }
  if (filter.labelSelector && Object.keys(filter.labelSelector).length > 0) out.labelSelector = { ...filter.labelSelector };
  return out;
}
