/**
 * GetContainerEvents (server streaming): one message per container created/started/stopped/
 * deleted, with the statuses of the pod's containers and, when the pod layer provides it, the
 * pod's status (kubelet's evented PLEG reads both); sandbox events, when the daemon provides
 * them, carry the sandbox id as the container id. The stream ends when the client goes away.
 */
import type { ContainerEvent, ContainerEventType } from '../../runtime/container-events';
import { runtime } from '../api/generated/cri';
import type { StreamCallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { statusToWire } from './container-response-convert';

const EVENT_TYPE: Record<ContainerEventType, runtime.v1.ContainerEventType> = {
  created: runtime.v1.ContainerEventType.CONTAINER_CREATED_EVENT,
  started: runtime.v1.ContainerEventType.CONTAINER_STARTED_EVENT,
  stopped: runtime.v1.ContainerEventType.CONTAINER_STOPPED_EVENT,
  deleted: runtime.v1.ContainerEventType.CONTAINER_DELETED_EVENT,
};

/** Handler for GetContainerEvents. */
export function getContainerEvents(deps: ContainerHandlerDeps) {
  return async (_request: runtime.v1.IGetEventsRequest, call: StreamCallContext<runtime.v1.IContainerEventResponse>): Promise<void> => {
    if (call.signal.aborted) return;
    // Writes are chained so events reach the client in the order they happened.
    let chain: Promise<void> = Promise.resolve();
    const send = (e: ContainerEvent) => {
      const message: runtime.v1.IContainerEventResponse = {
        containerId: e.containerId,
        containerEventType: EVENT_TYPE[e.type],
        createdAt: e.createdAtNs,
        podSandboxStatus: deps.podStatus?.(e.podSandboxId) ?? undefined,
        containersStatuses: deps.containers.listContainers({ podSandboxId: e.podSandboxId }).map(statusToWire),
      };
      chain = chain.then(() => call.write(message)).catch((err) => call.logger.warn('send container event failed', { err: String(err) }));
    };
    const unsubscribers = [deps.containers.onEvent(send), ...(deps.sandboxEvents ? [deps.sandboxEvents.onEvent(send)] : [])];
    try {
      await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      for (const unsubscribe of unsubscribers) unsubscribe();
    }
  };
}
