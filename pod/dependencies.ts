/**
 * The narrow interfaces pod/ consumes (docs/contributing.md, "Layers"). The real providers: CniManager (cni/)
 * implements PodNetwork; the NativeBinding (native/) satisfies PodNativeOps; the
 * daemon plugs ContainerManager into PodContainersHook and a prom-client histogram into
 * PodStartObserver.
 */
import { isRunning, readProcStatSync } from '../common/proc-stat';
import type { NativeBinding } from '../native/binding';
import type { PodStartStep } from './types';

/** A pod as the network layer identifies it (CniPodRef in cni/). */
export interface PodNetworkRef {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  netnsPath: string;
}

/** One hostPort mapping handed to the portmap capability. */
export interface PodPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** What setUpPod receives. */
export type PodNetworkSetup = PodNetworkRef & {
  portMappings: PodPortMapping[];
  bandwidth?: { ingressBps?: number; egressBps?: number };
  dns?: { servers: string[]; searches: string[]; options: string[] };
  /** `lo` is up in the netns already (createNetns did it): no loopback plugin needed. */
  loopbackUp?: boolean;
};

/** Pod networking (CNI ADD/DEL/CHECK). */
export interface PodNetwork {
  setUpPod(pod: PodNetworkSetup): Promise<{ ips: string[]; interfaceName: string; raw: unknown }>;
  /** Idempotent; tolerates a missing netns. */
  tearDownPod(pod: PodNetworkRef): Promise<void>;
  checkPod(pod: PodNetworkRef): Promise<void>;
}

/** The native operations pod/ uses. */
export type PodNativeOps = Pick<NativeBinding, 'mount' | 'unmount' | 'startPause' | 'createNetns' | 'watchExit'>;

/** Stops/removes the containers of a pod; the daemon sets the container layer's implementation. */
export interface PodContainersHook {
  stopAll(podId: string): Promise<void>;
  removeAll(podId: string): Promise<void>;
}

/** Receives the duration of each RunPodSandbox step (a histogram in the daemon). */
export interface PodStartObserver {
  observeStep(step: PodStartStep, seconds: number): void;
}

/** Signals and inspects processes by pid (/proc and kill(2); a fake in unit tests so no real pid is hit). */
export interface ProcessControl {
  /** kill(2); throws with code ESRCH when the process is gone. */
  kill(pid: number, signal: NodeJS.Signals): void;
  /** False when the process is gone or a zombie. */
  isAlive(pid: number): boolean;
  /** /proc/<pid>/stat starttime (field 22), to tell a process from a later one reusing its pid. */
  startTime(pid: number): string | undefined;
}

/** The containers hook used until the daemon sets one. */
export const noContainersHook: PodContainersHook = {
  async stopAll() {},
  async removeAll() {},
};

/** Signals and inspects real processes. */
export const realProcessControl: ProcessControl = {
  kill(pid, signal) {
    process.kill(pid, signal);
  },
  isAlive(pid) {
    return isRunning(readProcStatSync(pid));
  },
  startTime(pid) {
    const stat = readProcStatSync(pid);
    return stat === undefined ? undefined : String(stat.startTime);
  },
};
