/**
 * Bounds on port-forward connections: per pod and in total on this node, counted from the moment
 * a client asks for a connection (connecting included) until it is closed. Every forwarded
 * connection holds two client streams, a socket in the pod's namespace and, while it connects,
 * a native thread (connectInNetns), so a client must not be able to open them without limit.
 */
import { ResourceExhaustedError } from '../../common/errors';

/** Connection limits; the daemon takes them from `[streaming]` in its config. */
export interface PortForwardLimits {
  /** Connections open at once to one pod. */
  perPod: number;
  /** Connections open at once on this node. */
  total: number;
}

/** Defaults: far above what kubectl port-forward sessions use, low enough to bound memory and fds. */
export const DEFAULT_PORT_FORWARD_LIMITS: PortForwardLimits = { perPod: 128, total: 1024 };

/** Counts open port-forward connections; `acquire` refuses past a limit. */
export class PortForwardLimiter {
  private readonly perPod = new Map<string, number>();
  private total = 0;

  constructor(readonly limits: PortForwardLimits = DEFAULT_PORT_FORWARD_LIMITS) {}

  /**
   * Takes a slot for one connection to `podSandboxId`; the returned function gives it back (once).
   * Throws ResourceExhaustedError naming the limit when none is free.
   */
  acquire(podSandboxId: string): () => void {
    const forPod = this.perPod.get(podSandboxId) ?? 0;
    if (forPod >= this.limits.perPod) {
      throw new ResourceExhaustedError(`port-forward: too many connections for pod ${podSandboxId} (limit ${this.limits.perPod})`);
    }
    if (this.total >= this.limits.total) {
      throw new ResourceExhaustedError(`port-forward: too many connections on this node (limit ${this.limits.total})`);
    }
    this.perPod.set(podSandboxId, forPod + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perPod.get(podSandboxId) ?? 1) - 1;
      if (left === 0) this.perPod.delete(podSandboxId);
      else this.perPod.set(podSandboxId, left);
    };
  }

  /** Open connections to `podSandboxId` (all pods when omitted). */
  open(podSandboxId?: string): number {
    return podSandboxId === undefined ? this.total : (this.perPod.get(podSandboxId) ?? 0);
  }
}
