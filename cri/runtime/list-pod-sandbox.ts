/**
 * ListPodSandbox, served from memory with the id/state/label filters applied in pod/. Each pod is
 * converted and encoded once per state (the pod manager's shared views are frozen per record
 * revision; see list-answers.ts); an answer is those bytes copied.
 */
import type { SandboxFilter, SandboxInfo } from '../../pod/types';
import { runtime } from '../api/generated/cri';
import { encodedPerView, type EncodedMessage } from '../pre-encoded';
import type { CallContext } from '../handlers';
import { ListAnswers } from './list-answers';
import type { PodHandlerDeps } from './pod-handlers';
import { metadataOf, stateOf } from './pod-sandbox-status';

/** Handler for ListPodSandbox. */
export function listPodSandbox(deps: PodHandlerDeps) {
  const answers = new ListAnswers<SandboxInfo, runtime.v1.IPodSandbox, runtime.v1.IListPodSandboxResponse>(encodedPodOf, (items) => ({ items }));
  return (request: runtime.v1.IListPodSandboxRequest, _call: CallContext): runtime.v1.IListPodSandboxResponse =>
    answers.answer(deps.pods.listPodSandboxes(filterOf(request.filter)));
}

/** The PodSandbox message of a listed pod. */
export function podToWire(info: SandboxInfo): runtime.v1.IPodSandbox {
  return {
    id: info.id,
    metadata: metadataOf(info),
    state: stateOf(info),
    createdAt: info.createdAt,
    labels: { ...info.labels },
    annotations: { ...info.annotations },
    runtimeHandler: info.runtimeHandler,
  };
}

/** The PodSandbox of `info` and its encoding, made once per frozen view (the pod manager's shared views are). */
const encodedPodOf: (info: SandboxInfo) => EncodedMessage<runtime.v1.IPodSandbox> = encodedPerView(podToWire, runtime.v1.PodSandbox);

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
