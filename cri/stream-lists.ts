/**
 * The Stream* list RPCs (kubelet's CRIListStreaming gate): the same answers as the List* RPCs,
 * sent as a stream of pages so a node with thousands of objects never needs one message over
 * gRPC's size limit. Built from whichever List* handlers are registered, so every layer gets
 * them without writing each twice.
 */
import type { runtime } from './api/generated/cri';
import type { CriHandlers, StreamCallContext } from './handlers';

/** Objects per streamed message. */
export const STREAM_PAGE_SIZE = 100;

/** Sends `items` in pages of STREAM_PAGE_SIZE (one empty page when there are none). */
async function sendPages<T, M>(items: T[], wrap: (page: T[]) => M, call: StreamCallContext<M>): Promise<void> {
  if (items.length === 0) return call.write(wrap([]));
  for (let i = 0; i < items.length && !call.signal.aborted; i += STREAM_PAGE_SIZE) await call.write(wrap(items.slice(i, i + STREAM_PAGE_SIZE)));
}

/** Stream* handlers for the List* handlers present in `handlers` (never replacing a registered one). */
export function streamListHandlers(handlers: CriHandlers): CriHandlers {
  const out: CriHandlers = {};
  const listPods = handlers.ListPodSandbox;
  if (listPods && !handlers.StreamPodSandboxes) {
    out.StreamPodSandboxes = async (request: runtime.v1.IStreamPodSandboxesRequest, call: StreamCallContext<runtime.v1.IStreamPodSandboxesResponse>) =>
      sendPages((await listPods({ filter: request.filter }, call)).items ?? [], (podSandboxes) => ({ podSandboxes }), call);
  }
  const listContainers = handlers.ListContainers;
  if (listContainers && !handlers.StreamContainers) {
    out.StreamContainers = async (request: runtime.v1.IStreamContainersRequest, call: StreamCallContext<runtime.v1.IStreamContainersResponse>) =>
      sendPages((await listContainers({ filter: request.filter }, call)).containers ?? [], (containers) => ({ containers }), call);
  }
  const listContainerStats = handlers.ListContainerStats;
  if (listContainerStats && !handlers.StreamContainerStats) {
    out.StreamContainerStats = async (request: runtime.v1.IStreamContainerStatsRequest, call: StreamCallContext<runtime.v1.IStreamContainerStatsResponse>) =>
      sendPages((await listContainerStats({ filter: request.filter }, call)).stats ?? [], (containerStats) => ({ containerStats }), call);
  }
  const listPodStats = handlers.ListPodSandboxStats;
  if (listPodStats && !handlers.StreamPodSandboxStats) {
    out.StreamPodSandboxStats = async (request: runtime.v1.IStreamPodSandboxStatsRequest, call: StreamCallContext<runtime.v1.IStreamPodSandboxStatsResponse>) =>
      sendPages((await listPodStats({ filter: request.filter }, call)).stats ?? [], (podSandboxStats) => ({ podSandboxStats }), call);
  }
  const listImages = handlers.ListImages;
  if (listImages && !handlers.StreamImages) {
    out.StreamImages = async (request: runtime.v1.IStreamImagesRequest, call: StreamCallContext<runtime.v1.IStreamImagesResponse>) =>
      sendPages((await listImages({ filter: request.filter }, call)).images ?? [], (images) => ({ images }), call);
  }
  return out;
}
