/**
 * Validation of a RunPodSandbox request into the plain values the pod layer works with. Every
 * refusal is an InvalidArgumentError whose message starts with the offending field's name.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../common/errors';
import { checkMetadataMaps } from '../common/metadata-limits';
import { UserNamespaceMappings, validateUserNamespace } from '../common/id-mappings';
import { PodPortMapping } from './dependencies';
import { bandwidthFromAnnotations } from './quantity';
import { validateSysctls } from './sysctls';
import { NamespaceMode, PodNamespaceModes, PodSandboxConfigInput, Protocol } from './types';

/** A RunPodSandbox request after validation. */
export interface ValidatedPodConfig {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  /** `k8s_<name>_<namespace>_<uid>_<attempt>`: the reservation key. */
  reservedName: string;
  /** The requested hostname ('' = choose one). */
  hostname: string;
  modes: PodNamespaceModes;
  /** The pod's own user namespace; undefined: the host's. */
  userNamespace?: UserNamespaceMappings;
  sysctls: Record<string, string>;
  /** Mappings with a host port (the ones CNI's portmap needs). */
  portMappings: PodPortMapping[];
  /** DNS settings; undefined when dns_config is empty (the host's resolv.conf is used). */
  dns: { servers: string[]; searches: string[]; options: string[] } | undefined;
  bandwidth: { ingressBps?: number; egressBps?: number } | undefined;
  /** cgroupfs path; '' = the configured default. */
  cgroupParent: string;
  runtimeHandler: string;
  logDirectory: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Which runtime handlers exist and which one "" means. */
export interface HandlerChoice {
  handlers: readonly string[];
  defaultHandler: string;
  /** Whether `handler` runs pods in user namespaces here; absent: no handler does. */
  userNamespaces?: (handler: string) => boolean;
}

// RFC 1123 labels joined by dots; the kernel allows 64 bytes (HOST_NAME_MAX).
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const HAS_SPACE_OR_CONTROL = /[\s\0-\x1f\x7f]/;
// Kubernetes' limits (pkg/apis/core/validation: MaxDNSSearchPaths, MaxDNSSearchListChars).
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;

/** Validates `config` and the requested runtime handler. */
export function validatePodConfig(
  config: PodSandboxConfigInput | null | undefined,
  runtimeHandler: string | null | undefined,
  choice: HandlerChoice,
): ValidatedPodConfig {
  if (!config) throw new InvalidArgumentError('config: is required');
  checkMetadataMaps(config); // first: later steps parse annotation values
  const md = config.metadata;
  if (!md) throw new InvalidArgumentError('config.metadata: is required');
  const name = requiredText(md.name, 'config.metadata.name');
  const namespace = requiredText(md.namespace, 'config.metadata.namespace');
  const uid = requiredText(md.uid, 'config.metadata.uid');
  const attempt = md.attempt ?? 0;
  if (!Number.isInteger(attempt) || attempt < 0) throw new InvalidArgumentError('config.metadata.attempt: must be a non-negative integer');

  const hostname = config.hostname ?? '';
  if (hostname !== '' && (hostname.length > 64 || !HOSTNAME.test(hostname))) {
    throw new InvalidArgumentError(`config.hostname: ${JSON.stringify(hostname)} is not a valid hostname`);
  }

  const modes = namespaceModes(config);
  const chosenHandler = validateRuntimeHandler(runtimeHandler ?? '', choice);
  const userNamespace = validatePodUserNamespace(config, modes, chosenHandler, choice);
  const sysctls = validateSysctls(config.linux?.sysctls, { net: modes.network === 'pod', ipc: modes.ipc === 'pod' });
  const annotations = { ...(config.annotations ?? {}) };
  const logDirectory = config.logDirectory ?? '';
  if (logDirectory !== '' && logDirectory.split('/').includes('..')) {
    throw new InvalidArgumentError('config.log_directory: must not contain ".." segments');
  }
  if (logDirectory !== '' && !logDirectory.startsWith('/')) {
    throw new InvalidArgumentError('config.log_directory: must be an absolute path');
  }

  return {
    name,
    namespace,
    uid,
    attempt,
    reservedName: `k8s_${name}_${namespace}_${uid}_${attempt}`,
    hostname,
    modes,
    ...(userNamespace ? { userNamespace } : {}),
    sysctls,
    portMappings: validatePortMappings(config),
    dns: validateDns(config),
    bandwidth: modes.network === 'pod' ? bandwidthFromAnnotations(annotations) : undefined,
    cgroupParent: validateCgroupParent(config.linux?.cgroupParent ?? ''),
    runtimeHandler: chosenHandler,
    logDirectory,
    labels: { ...(config.labels ?? {}) },
    annotations,
  };
}

/** Longest metadata value accepted (a Kubernetes DNS subdomain name). */
const MAX_METADATA_LENGTH = 253;

function requiredText(value: string | null | undefined, field: string): string {
  if (!value) throw new InvalidArgumentError(`${field}: is required`);
  if (HAS_SPACE_OR_CONTROL.test(value)) throw new InvalidArgumentError(`${field}: must not contain whitespace or control characters`);
  // These end up in names, log paths and CNI_ARGS: no path separators, bounded length.
  if (value.length > MAX_METADATA_LENGTH) throw new InvalidArgumentError(`${field}: is longer than ${MAX_METADATA_LENGTH} characters`);
  if (value.includes('/')) throw new InvalidArgumentError(`${field}: must not contain "/"`);
  return value;
}

function namespaceModes(config: PodSandboxConfigInput): PodNamespaceModes {
  const opts = config.linux?.securityContext?.namespaceOptions;
  const network = opts?.network ?? NamespaceMode.POD;
  const ipc = opts?.ipc ?? NamespaceMode.POD;
  // Absent means POD for every namespace (the CRI enum's zero value): a pid namespace of the pod's own, shared.
  const pid = opts?.pid ?? NamespaceMode.POD;
  const field = 'config.linux.security_context.namespace_options';
  if (network !== NamespaceMode.POD && network !== NamespaceMode.NODE) {
    throw new InvalidArgumentError(`${field}.network: must be POD or NODE for a sandbox`);
  }
  if (ipc !== NamespaceMode.POD && ipc !== NamespaceMode.NODE) {
    throw new InvalidArgumentError(`${field}.ipc: must be POD or NODE for a sandbox`);
  }
  if (pid !== NamespaceMode.POD && pid !== NamespaceMode.NODE && pid !== NamespaceMode.CONTAINER) {
    throw new InvalidArgumentError(`${field}.pid: must be POD, CONTAINER or NODE for a sandbox`);
  }
  return {
    network: network === NamespaceMode.NODE ? 'node' : 'pod',
    ipc: ipc === NamespaceMode.NODE ? 'node' : 'pod',
    pid: pid === NamespaceMode.POD ? 'pod' : pid === NamespaceMode.NODE ? 'node' : 'container',
  };
}

/** The pod's user namespace: refused on a handler without support and with any host namespace. */
function validatePodUserNamespace(
  config: PodSandboxConfigInput,
  modes: PodNamespaceModes,
  handler: string,
  choice: HandlerChoice,
): UserNamespaceMappings | undefined {
  const field = 'config.linux.security_context.namespace_options';
  const mappings = validateUserNamespace(config.linux?.securityContext?.namespaceOptions?.usernsOptions, `${field}.userns_options`);
  if (!mappings) return undefined;
  if (!(choice.userNamespaces?.(handler) ?? false)) {
    throw new InvalidArgumentError(`${field}.userns_options: runtime handler ${JSON.stringify(handler)} does not support user namespaces on this node`);
  }
  // A namespace of the host is owned by the host's user namespace: the pod's root would either
  // gain nothing there or, for the network, reach the node's interfaces with its capabilities.
  if (modes.network === 'node') throw new InvalidArgumentError(`${field}.network: NODE cannot be combined with a user namespace (userns_options.mode POD)`);
  if (modes.ipc === 'node') throw new InvalidArgumentError(`${field}.ipc: NODE cannot be combined with a user namespace (userns_options.mode POD)`);
  if (modes.pid === 'node') throw new InvalidArgumentError(`${field}.pid: NODE cannot be combined with a user namespace (userns_options.mode POD)`);
  // A privileged container gets the host's devices and an unconfined view of /sys and /proc,
  // which a user namespace was asked to take away: the two do not go together.
  if (config.linux?.securityContext?.privileged === true) {
    throw new InvalidArgumentError('config.linux.security_context.privileged: a privileged pod cannot have a user namespace (userns_options.mode POD)');
  }
  return mappings;
}

function validatePortMappings(config: PodSandboxConfigInput): PodPortMapping[] {
  const out: PodPortMapping[] = [];
  (config.portMappings ?? []).forEach((pm, i) => {
    const field = `config.port_mappings[${i}]`;
    const containerPort = pm.containerPort ?? 0;
    const hostPort = pm.hostPort ?? 0;
    for (const [key, port] of [['container_port', containerPort], ['host_port', hostPort]] as const) {
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`${field}.${key}: ${port} is not a port (0-65535)`);
    }
    const protocol = protocolName(pm.protocol ?? Protocol.TCP);
    if (!protocol) throw new InvalidArgumentError(`${field}.protocol: ${pm.protocol} is not TCP, UDP or SCTP`);
    const hostIP = pm.hostIp ?? '';
    if (hostIP !== '' && isIP(hostIP) === 0) throw new InvalidArgumentError(`${field}.host_ip: ${JSON.stringify(hostIP)} is not an IP address`);
    if (hostPort === 0) return; // nothing to map on the host (kubelet sends these for information)
    if (containerPort === 0) throw new InvalidArgumentError(`${field}.container_port: is required with a host_port`);
    out.push({ hostPort, containerPort, protocol, ...(hostIP ? { hostIP } : {}) });
  });
  return out;
}

function protocolName(p: number): PodPortMapping['protocol'] | undefined {
  if (p === Protocol.TCP) return 'tcp';
  if (p === Protocol.UDP) return 'udp';
  if (p === Protocol.SCTP) return 'sctp';
  return undefined;
}

function validateDns(config: PodSandboxConfigInput): ValidatedPodConfig['dns'] {
  const dns = config.dnsConfig;
  const servers = [...(dns?.servers ?? [])];
  const searches = [...(dns?.searches ?? [])];
  const options = [...(dns?.options ?? [])];
  if (servers.length + searches.length + options.length === 0) return undefined;
  servers.forEach((s, i) => {
    if (isIP(s) === 0) throw new InvalidArgumentError(`config.dns_config.servers[${i}]: ${JSON.stringify(s)} is not an IP address`);
  });
  if (searches.length > MAX_SEARCHES) throw new InvalidArgumentError(`config.dns_config.searches: more than ${MAX_SEARCHES} entries`);
  if (searches.join(' ').length > MAX_SEARCH_CHARS) throw new InvalidArgumentError(`config.dns_config.searches: longer than ${MAX_SEARCH_CHARS} characters`);
  searches.forEach((s, i) => {
    if (s === '' || s.length > 253 || HAS_SPACE_OR_CONTROL.test(s)) {
      throw new InvalidArgumentError(`config.dns_config.searches[${i}]: ${JSON.stringify(s)} is not a search domain`);
    }
  });
  options.forEach((o, i) => {
    if (o === '' || HAS_SPACE_OR_CONTROL.test(o)) throw new InvalidArgumentError(`config.dns_config.options[${i}]: ${JSON.stringify(o)} is not a resolver option`);
  });
  return { servers, searches, options };
}

/** PATH_MAX: a cgroup directory path cannot be longer. */
const MAX_CGROUP_PARENT_LENGTH = 4096;

/** `p` without trailing "/"s; a loop, since /\/+$/ rescans the run of slashes from each start (quadratic). */
function trimTrailingSlashes(p: string): string {
  let end = p.length;
  while (end > 0 && p.charCodeAt(end - 1) === 47) end--;
  return p.slice(0, end);
}

/** cgroupfs parents are absolute paths (`/kubepods/burstable/pod<uid>`); systemd slices are refused. */
function validateCgroupParent(parent: string): string {
  if (parent === '') return '';
  const field = 'config.linux.cgroup_parent';
  if (!parent.startsWith('/')) throw new InvalidArgumentError(`${field}: ${JSON.stringify(parent)} must be an absolute cgroupfs path`);
  if (parent.endsWith('.slice')) {
    throw new InvalidArgumentError(`${field}: ${JSON.stringify(parent)} is a systemd slice, but the cgroup driver is cgroupfs`);
  }
  if (parent.length > MAX_CGROUP_PARENT_LENGTH) throw new InvalidArgumentError(`${field}: is longer than ${MAX_CGROUP_PARENT_LENGTH} characters`);
  const trimmed = trimTrailingSlashes(parent);
  const segments = trimmed.split('/').slice(1);
  if (trimmed !== '' && segments.some((s) => s === '' || s === '.' || s === '..' || HAS_SPACE_OR_CONTROL.test(s))) {
    throw new InvalidArgumentError(`${field}: ${JSON.stringify(parent)} is not a clean path`);
  }
  return trimmed === '' ? '/' : trimmed;
}

function validateRuntimeHandler(handler: string, choice: HandlerChoice): string {
  const chosen = handler === '' ? choice.defaultHandler : handler;
  if (!choice.handlers.includes(chosen)) {
    throw new InvalidArgumentError(
      `runtime_handler: ${JSON.stringify(handler)} is not a configured runtime handler (configured: ${choice.handlers.join(', ')})`,
    );
  }
  return chosen;
}
