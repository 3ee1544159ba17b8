/**
 * ListContainers: filters by id prefix, state, pod and labels, from memory. Each container is
 * converted and encoded once per state (see list-answers.ts); an answer is those bytes copied.
 */
import type { ContainerFilter, ContainerStatusView } from '../../runtime/container-view';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { encodedContainerOf, stateFromWire } from './container-response-convert';
import { ListAnswers } from './list-answers';

/** Handler for ListContainers. */
export function listContainers(deps: ContainerHandlerDeps) {
  const answers = new ListAnswers<ContainerStatusView, runtime.v1.IContainer, runtime.v1.IListContainersResponse>(encodedContainerOf, (containers) => ({ containers }));
  return (request: runtime.v1.IListContainersRequest, _call: CallContext): runtime.v1.IListContainersResponse => {
    const f = request.filter;
    const filter: ContainerFilter | undefined = f
      ? {
          id: f.id || undefined,
          state: f.state ? stateFromWire(f.state.state) : undefined,
          podSandboxId: f.podSandboxId || undefined,
          labelSelector: f.labelSelector ?? undefined,
        }
      : undefined;
    return answers.answer(deps.containers.listContainers(filter));
  };
}
