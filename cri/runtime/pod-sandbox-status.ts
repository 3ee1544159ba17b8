/**
 * PodSandboxStatus, served from memory. With `verbose`, `info["info"]` is a JSON document with the
 * pause pid, netns path, CNI result and the milliseconds each RunPodSandbox step took. Every
 * answer also carries the statuses of the pod's containers and the time they were taken (kubelet
 * with EventedPLEG reads both instead of listing containers), as containerd answers. The plain
 * answer is put together from encodings made once per pod and container state (a new state is a
 * new status view), so a call only encodes its timestamp; after a sandbox event the pod's part is
 * encoded once the reply of the changing call has left, before the status call that usually follows.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { PodNamespaceModes, SandboxInfo, SandboxStatusView } from '../../pod/types';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { afterReply, encodedPerView, type EncodedMessage, withEncoding } from '../pre-encoded';
import { encodedStatusOf, statusToWire, type EncodedContainerStatus } from './container-response-convert';
import { filled, int64Bits, putField, putVarint, varintSize } from './wire-splice';
import type { PodHandlerDeps } from './pod-handlers';

const wallClockNs = (): number => Date.now() * 1e6;

/** Handler for PodSandboxStatus. */
export function podSandboxStatus(deps: PodHandlerDeps) {
  // After a sandbox event, encode the pod's new status once the reply has left (see container-status.ts).
  deps.pods.onEvent?.((e) => {
    if (e.type === 'deleted') return;
    afterReply(() => {
      try {
        encodedPodStatusOf(deps.pods.podSandboxStatus(e.containerId));
      } catch {
        // gone meanwhile: nothing to prepare
      }
    });
  });
  return (request: runtime.v1.IPodSandboxStatusRequest, _call: CallContext): runtime.v1.IPodSandboxStatusResponse => {
    if (!request.podSandboxId) throw new InvalidArgumentError('pod_sandbox_id: is required');
    const view = deps.pods.podSandboxStatus(request.podSandboxId);
    const containers = (deps.containerStatuses?.(view.id) ?? []).filter((c) => c.podSandboxId === view.id);
    const timestamp = (deps.nowNs ?? wallClockNs)();
    if (request.verbose) {
      return { status: statusOf(view), containersStatuses: containers.map(statusToWire), timestamp, info: { info: JSON.stringify(verboseInfoOf(view)) } };
    }
    const pod = encodedPodStatusOf(view);
    const statuses = containers.map(encodedStatusOf);
    const response = { status: pod.wire, containersStatuses: statuses.map((c) => c.wire), timestamp };
    return withEncoding(response, encodeResponse(pod.bytes, statuses, timestamp));
  };
}

/** The PodSandboxStatus of `view` and its encoding, made once per frozen view (the pod manager's shared views are). */
const encodedPodStatusOf: (view: SandboxStatusView) => EncodedMessage<runtime.v1.IPodSandboxStatus> = encodedPerView(statusOf, runtime.v1.PodSandboxStatus);

/**
 * PodSandboxStatusResponse bytes as its generated encoder writes them (fields 1, 3, 4; no info),
 * assembled by hand: protobufjs' Writer (an op list, then a copy) cost more than the rest of a call.
 */
export function encodeResponse(pod: Uint8Array, containers: readonly EncodedContainerStatus[], timestamp: number): Uint8Array {
  const [lo, hi] = int64Bits(timestamp);
  let size = 1 + varintSize(pod.length, 0) + pod.length + (timestamp !== 0 ? 1 + varintSize(lo, hi) : 0);
  for (const c of containers) size += 1 + varintSize(c.bytes.length, 0) + c.bytes.length;
  // Not zeroed (a zeroed allocation cost more than the rest): every byte is written, which the end check holds to.
  const out = Buffer.allocUnsafe(size);
  let pos = putField(out, 0, /* status, length-delimited */ 10, pod);
  for (const c of containers) pos = putField(out, pos, /* containers_statuses, length-delimited */ 26, c.bytes);
  if (timestamp !== 0) {
    out[pos++] = /* timestamp, varint */ 32;
    pos = putVarint(out, pos, lo, hi);
  }
  return filled(out, pos);
}

/** The CRI PodSandboxStatus message of a sandbox. */
export function statusOf(view: SandboxStatusView): runtime.v1.IPodSandboxStatus {
  const [primary = '', ...additional] = view.ips;
  return {
    id: view.id,
    metadata: metadataOf(view),
    state: stateOf(view),
    createdAt: view.createdAt,
    network: { ip: primary, additionalIps: additional.map((ip) => ({ ip })) },
    linux: { namespaces: { options: { ...namespaceOptionsOf(view.namespaceModes), ...usernsOptionsOf(view) } } },
    labels: { ...view.labels },
    annotations: { ...view.annotations },
    runtimeHandler: view.runtimeHandler,
  };
}

/** The verbose info document. */
function verboseInfoOf(view: SandboxStatusView): Record<string, unknown> {
  return {
    pid: view.verbose.pausePid,
    netnsPath: view.verbose.netnsPath,
    namespacePaths: view.namespacePaths,
    cgroupParent: view.cgroupParent,
    cgroupPaths: view.verbose.cgroupPaths,
    runtimeHandler: view.verbose.runtimeHandler,
    stepTimingsMs: view.verbose.stepTimingsMs,
    cniResult: view.verbose.cniResult,
    ...(view.verbose.pauseExitedAt ? { pauseExitedAt: view.verbose.pauseExitedAt } : {}),
  };
}

/** CRI metadata of a sandbox. */
export function metadataOf(info: SandboxInfo): runtime.v1.IPodSandboxMetadata {
  return { name: info.name, uid: info.uid, namespace: info.namespace, attempt: info.attempt };
}

/** CRI state of a sandbox. */
export function stateOf(info: SandboxInfo): runtime.v1.PodSandboxState {
  return info.state === 'ready' ? runtime.v1.PodSandboxState.SANDBOX_READY : runtime.v1.PodSandboxState.SANDBOX_NOTREADY;
}

/** The pod's user namespace as CRI says it (absent: the host's). */
function usernsOptionsOf(view: SandboxInfo): runtime.v1.INamespaceOption {
  const ns = view.userNamespace;
  if (!ns) return {};
  return { usernsOptions: { mode: runtime.v1.NamespaceMode.POD, uids: ns.uids.map((m) => ({ ...m })), gids: ns.gids.map((m) => ({ ...m })) } };
}

function namespaceOptionsOf(modes: PodNamespaceModes): runtime.v1.INamespaceOption {
  const mode = (m: 'pod' | 'container' | 'node') =>
    m === 'pod' ? runtime.v1.NamespaceMode.POD : m === 'node' ? runtime.v1.NamespaceMode.NODE : runtime.v1.NamespaceMode.CONTAINER;
  return { network: mode(modes.network), ipc: mode(modes.ipc), pid: mode(modes.pid) };
}
