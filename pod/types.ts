/**
 * Public types of the pod layer. The config shapes mirror the interfaces protobufjs
 * generates for CRI v1 (`runtime.v1.IPodSandboxConfig`: lowerCamelCase, every field optional and
 * nullable, enums as numbers), so cri/ passes the decoded request through unchanged while pod/
 * never imports cri/ (dependencies point down).
 */

import type { UserNamespaceInput } from '../common/id-mappings';
import type { SandboxPaths } from '../common/sandbox-paths';

/** CRI NamespaceMode values (api.proto). */
export const NamespaceMode = { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 } as const;

/** CRI Protocol values (api.proto). */
export const Protocol = { TCP: 0, UDP: 1, SCTP: 2 } as const;

type Maybe<T> = T | null | undefined;

export interface PodSandboxMetadataInput {
  name?: Maybe<string>;
  uid?: Maybe<string>;
  namespace?: Maybe<string>;
  attempt?: Maybe<number>;
}

export interface DnsConfigInput {
  servers?: Maybe<string[]>;
  searches?: Maybe<string[]>;
  options?: Maybe<string[]>;
}

export interface PortMappingInput {
  protocol?: Maybe<number>;
  containerPort?: Maybe<number>;
  hostPort?: Maybe<number>;
  hostIp?: Maybe<string>;
}

export interface NamespaceOptionInput {
  network?: Maybe<number>;
  pid?: Maybe<number>;
  ipc?: Maybe<number>;
  targetId?: Maybe<string>;
  usernsOptions?: Maybe<UserNamespaceInput>;
}

export interface LinuxPodSandboxConfigInput {
  cgroupParent?: Maybe<string>;
  securityContext?: Maybe<{ namespaceOptions?: Maybe<NamespaceOptionInput>; privileged?: Maybe<boolean> }>;
  sysctls?: Maybe<{ [name: string]: string }>;
}

/** The CRI PodSandboxConfig as pod/ reads it (a structural subset of the generated interface). */
export interface PodSandboxConfigInput {
  metadata?: Maybe<PodSandboxMetadataInput>;
  hostname?: Maybe<string>;
  logDirectory?: Maybe<string>;
  dnsConfig?: Maybe<DnsConfigInput>;
  portMappings?: Maybe<PortMappingInput[]>;
  labels?: Maybe<{ [k: string]: string }>;
  annotations?: Maybe<{ [k: string]: string }>;
  linux?: Maybe<LinuxPodSandboxConfigInput>;
}

/** Sandbox states (CRI SANDBOX_READY / SANDBOX_NOTREADY). */
export type SandboxState = 'ready' | 'notready';

/** Namespace modes of a pod after validation. */
export interface PodNamespaceModes {
  network: 'pod' | 'node';
  ipc: 'pod' | 'node';
  pid: 'pod' | 'container' | 'node';
}

export type { NamespacePaths } from '../common/sandbox-paths';

/** What the container layer reads about a sandbox. */
export interface SandboxInfo extends SandboxPaths {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  state: SandboxState;
  /** Nanoseconds since the epoch (millisecond precision survives the double). */
  createdAt: number;
  runtimeHandler: string;
  namespaceModes: PodNamespaceModes;
  hostname: string;
  logDirectory: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The CRI PodSandboxConfig as received. */
  config: PodSandboxConfigInput;
}

/** Names of the timed steps of RunPodSandbox (also the metric label values). */
export type PodStartStep = 'files' | 'shm' | 'cgroup' | 'netns' | 'pause' | 'pin' | 'cni' | 'state';

/** Everything PodSandboxStatus reports, verbose details included. */
export interface SandboxStatusView extends SandboxInfo {
  /** Pod IPs, primary first; empty for host-network pods. */
  ips: string[];
  verbose: {
    pausePid?: number;
    netnsPath?: string;
    cniResult?: unknown;
    stepTimingsMs: Partial<Record<PodStartStep, number>>;
    runtimeHandler: string;
    cgroupPaths: string[];
    pauseExitedAt?: string;
  };
}

/** ListPodSandbox filter (CRI PodSandboxFilter). */
export interface SandboxFilter {
  /** Full id or unique prefix. */
  id?: string;
  state?: SandboxState;
  labelSelector?: Record<string, string>;
}
