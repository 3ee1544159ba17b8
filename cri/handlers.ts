/**
 * The CRI method table (both services, every RPC of cri/api/cri.proto) and the handler types.
 *
 * A handler receives the decoded request (a generated message instance: unset scalars read as
 * their proto3 defaults, unset messages as null) typed as the generated `I…Request` interface,
 * and returns the `I…Response` object; it throws typed errors from common/errors.ts and never
 * deals with gRPC codes (cri/errors.ts maps them). RuntimeService and ImageService method names
 * are disjoint, so one flat map serves both.
 */
import type { Logger } from '../common/logger';
import { runtime } from './api/generated/cri';
import { preEncoded } from './pre-encoded';

/** The two CRI services. */
export type CriServiceName = 'RuntimeService' | 'ImageService';

/** What the server needs from a generated message class to put one message type on the wire. */
export interface MessageCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): NoInfer<T>;
}

/** One RPC: its service, codecs and whether the server streams responses. */
export interface CriMethodSpec<Req, Res, Streaming extends boolean> {
  service: CriServiceName;
  request: MessageCodec<Req>;
  response: MessageCodec<Res>;
  serverStreaming: Streaming;
}

function unary<Req, Res>(service: CriServiceName, request: MessageCodec<Req>, response: MessageCodec<Res>) {
  return { service, request, response, serverStreaming: false } as CriMethodSpec<Req, Res, false>;
}
function streaming<Req, Res>(service: CriServiceName, request: MessageCodec<Req>, response: MessageCodec<Res>) {
  return { service, request, response, serverStreaming: true } as CriMethodSpec<Req, Res, true>;
}

const v1 = runtime.v1;
const RS: CriServiceName = 'RuntimeService';
const IS: CriServiceName = 'ImageService';

/** Every CRI v1 RPC, in proto order, keyed by method name. */
export const CRI_METHODS = {
  // RuntimeService
  Version: unary(RS, v1.VersionRequest, preEncoded(v1.VersionResponse)),
  RunPodSandbox: unary(RS, v1.RunPodSandboxRequest, v1.RunPodSandboxResponse),
  StopPodSandbox: unary(RS, v1.StopPodSandboxRequest, v1.StopPodSandboxResponse),
  RemovePodSandbox: unary(RS, v1.RemovePodSandboxRequest, v1.RemovePodSandboxResponse),
  PodSandboxStatus: unary(RS, v1.PodSandboxStatusRequest, preEncoded(v1.PodSandboxStatusResponse)),
  ListPodSandbox: unary(RS, v1.ListPodSandboxRequest, preEncoded(v1.ListPodSandboxResponse)),
  StreamPodSandboxes: streaming(RS, v1.StreamPodSandboxesRequest, v1.StreamPodSandboxesResponse),
  CreateContainer: unary(RS, v1.CreateContainerRequest, v1.CreateContainerResponse),
  StartContainer: unary(RS, v1.StartContainerRequest, v1.StartContainerResponse),
  StopContainer: unary(RS, v1.StopContainerRequest, v1.StopContainerResponse),
  RemoveContainer: unary(RS, v1.RemoveContainerRequest, v1.RemoveContainerResponse),
  ListContainers: unary(RS, v1.ListContainersRequest, preEncoded(v1.ListContainersResponse)),
  StreamContainers: streaming(RS, v1.StreamContainersRequest, v1.StreamContainersResponse),
  ContainerStatus: unary(RS, v1.ContainerStatusRequest, preEncoded(v1.ContainerStatusResponse)),
  UpdateContainerResources: unary(RS, v1.UpdateContainerResourcesRequest, v1.UpdateContainerResourcesResponse),
  ReopenContainerLog: unary(RS, v1.ReopenContainerLogRequest, v1.ReopenContainerLogResponse),
  ExecSync: unary(RS, v1.ExecSyncRequest, v1.ExecSyncResponse),
  Exec: unary(RS, v1.ExecRequest, v1.ExecResponse),
  Attach: unary(RS, v1.AttachRequest, v1.AttachResponse),
  PortForward: unary(RS, v1.PortForwardRequest, v1.PortForwardResponse),
  ContainerStats: unary(RS, v1.ContainerStatsRequest, v1.ContainerStatsResponse),
  ListContainerStats: unary(RS, v1.ListContainerStatsRequest, preEncoded(v1.ListContainerStatsResponse)),
  StreamContainerStats: streaming(RS, v1.StreamContainerStatsRequest, v1.StreamContainerStatsResponse),
  PodSandboxStats: unary(RS, v1.PodSandboxStatsRequest, v1.PodSandboxStatsResponse),
  ListPodSandboxStats: unary(RS, v1.ListPodSandboxStatsRequest, preEncoded(v1.ListPodSandboxStatsResponse)),
  StreamPodSandboxStats: streaming(RS, v1.StreamPodSandboxStatsRequest, v1.StreamPodSandboxStatsResponse),
  UpdateRuntimeConfig: unary(RS, v1.UpdateRuntimeConfigRequest, v1.UpdateRuntimeConfigResponse),
  Status: unary(RS, v1.StatusRequest, preEncoded(v1.StatusResponse)),
  CheckpointContainer: unary(RS, v1.CheckpointContainerRequest, v1.CheckpointContainerResponse),
  GetContainerEvents: streaming(RS, v1.GetEventsRequest, v1.ContainerEventResponse),
  ListMetricDescriptors: unary(RS, v1.ListMetricDescriptorsRequest, v1.ListMetricDescriptorsResponse),
  ListPodSandboxMetrics: unary(RS, v1.ListPodSandboxMetricsRequest, v1.ListPodSandboxMetricsResponse),
  StreamPodSandboxMetrics: streaming(RS, v1.StreamPodSandboxMetricsRequest, v1.StreamPodSandboxMetricsResponse),
  RuntimeConfig: unary(RS, v1.RuntimeConfigRequest, v1.RuntimeConfigResponse),
  UpdatePodSandboxResources: unary(RS, v1.UpdatePodSandboxResourcesRequest, v1.UpdatePodSandboxResourcesResponse),
  // ImageService
  ListImages: unary(IS, v1.ListImagesRequest, v1.ListImagesResponse),
  StreamImages: streaming(IS, v1.StreamImagesRequest, v1.StreamImagesResponse),
  ImageStatus: unary(IS, v1.ImageStatusRequest, preEncoded(v1.ImageStatusResponse)),
  PullImage: unary(IS, v1.PullImageRequest, v1.PullImageResponse),
  RemoveImage: unary(IS, v1.RemoveImageRequest, v1.RemoveImageResponse),
  ImageFsInfo: unary(IS, v1.ImageFsInfoRequest, v1.ImageFsInfoResponse),
} as const;

type MethodTable = typeof CRI_METHODS;
/** Name of any CRI RPC ('Version', 'PullImage', …). */
export type CriMethodName = keyof MethodTable;
/** The request type of an RPC (the generated `I…Request` interface). */
export type CriRequest<M extends CriMethodName> = MethodTable[M] extends CriMethodSpec<infer Q, unknown, boolean> ? Q : never;
/** The response type of an RPC (the generated `I…Response` interface). */
export type CriResponse<M extends CriMethodName> = MethodTable[M] extends CriMethodSpec<unknown, infer S, boolean> ? S : never;

/** Per-call context given to every handler. */
export interface CallContext {
  /** Aborted when the client cancels or the deadline passes. */
  signal: AbortSignal;
  /** Logger carrying the RPC name. */
  logger: Logger;
  /** The RPC being served, e.g. 'RunPodSandbox'. */
  method?: CriMethodName;
  /** The client's deadline as epoch milliseconds, when it set one. */
  deadlineMs?: number;
}

/** Context of a server-streaming call: `write` sends one message (resolves when buffered). */
export interface StreamCallContext<T> extends CallContext {
  write(message: T): Promise<void>;
}

/**
 * The handler signature of one RPC. A unary handler whose answer is in memory returns it (or
 * throws) synchronously: the reply then leaves while the request's input is still being read,
 * without waiting for a promise to settle.
 */
export type CriHandler<M extends CriMethodName> = MethodTable[M]['serverStreaming'] extends true
  ? (request: CriRequest<M>, call: StreamCallContext<CriResponse<M>>) => Promise<void>
  : (request: CriRequest<M>, call: CallContext) => CriResponse<M> | Promise<CriResponse<M>>;

/** A partial map from RPC name to handler; unregistered RPCs answer UNIMPLEMENTED. */
export type CriHandlers = { [M in CriMethodName]?: CriHandler<M> };

/** All RPC names, in proto order. */
export const CRI_METHOD_NAMES = Object.keys(CRI_METHODS) as CriMethodName[];

/** The service an RPC belongs to. */
export function serviceOf(method: CriMethodName): CriServiceName {
  return CRI_METHODS[method].service;
}

/** Merges handler maps; registering the same RPC twice is a wiring bug and throws. */
export function mergeHandlers(...maps: CriHandlers[]): CriHandlers {
  const out: Record<string, unknown> = {};
  for (const map of maps) {
    for (const [name, handler] of Object.entries(map)) {
      if (handler === undefined) continue;
      if (!(name in CRI_METHODS)) throw new TypeError(`merge CRI handlers: unknown RPC ${name}`);
      if (name in out) throw new TypeError(`merge CRI handlers: ${name} registered twice`);
      out[name] = handler;
    }
  }
  return out as CriHandlers;
}
