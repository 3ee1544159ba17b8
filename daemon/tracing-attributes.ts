/**
 * The span attributes of a CRI call, picked from a fixed list of identifying fields of the
 * decoded request and response: pod and container ids and names, the image name. Nothing else is
 * read, so credentials (PullImage's auth), env values, commands, mounts and annotations never
 * reach a span, whatever the request holds.
 */

/** Attribute name → value; values are strings or numbers. */
export type SpanAttributes = Record<string, string | number>;

/** Longest attribute value kept (CRI strings are bounded, but a span is no place for a page). */
const MAX_VALUE = 256;

/** Identifying attributes of a request or response message. */
export function callAttributes(message: unknown): SpanAttributes {
  const out: SpanAttributes = {};
  if (!isObject(message)) return out;
  put(out, 'berth.pod_sandbox.id', message.podSandboxId);
  put(out, 'container.id', message.containerId);
  put(out, 'berth.runtime_handler', message.runtimeHandler);
  // RunPodSandbox: `config` is the pod's; CreateContainer (which names its pod): `config` is the
  // container's and `sandboxConfig` the pod's, as in PullImage.
  const forContainer = 'podSandboxId' in message;
  const podConfig = isObject(message.sandboxConfig) ? message.sandboxConfig : forContainer ? undefined : message.config;
  if (isObject(podConfig) && isObject(podConfig.metadata)) {
    put(out, 'k8s.pod.name', podConfig.metadata.name);
    put(out, 'k8s.namespace.name', podConfig.metadata.namespace);
    put(out, 'k8s.pod.uid', podConfig.metadata.uid);
  }
  const containerConfig = forContainer ? message.config : undefined;
  if (isObject(containerConfig)) {
    if (isObject(containerConfig.metadata)) {
      put(out, 'k8s.container.name', containerConfig.metadata.name);
      if (typeof containerConfig.metadata.attempt === 'number') out['k8s.container.restart_count'] = containerConfig.metadata.attempt;
    }
    if (isObject(containerConfig.image)) put(out, 'container.image.name', containerConfig.image.image);
  }
  if (isObject(message.image)) put(out, 'container.image.name', message.image.image);
  put(out, 'berth.image.ref', message.imageRef);
  return out;
}

function put(out: SpanAttributes, key: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') return;
  out[key] = value.length > MAX_VALUE ? value.slice(0, MAX_VALUE) : value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
