/**
 * The production PortForwardBackend: connections are opened inside the pod's network namespace
 * by the native addon (a dedicated thread does setns + connect and hands back the fd), so a pod
 * port is reachable without any hostPort, exactly as kubelet's port-forward expects. Pods on the
 * host network are reached on the host's loopback.
 *
 * Each connect in progress holds one native thread (up to the addon's 30 s connect timeout, e.g.
 * against a DROP rule), so at most MAX_CONNECTS_IN_FLIGHT run at once; the others wait their
 * turn (no thread) or give up when their client leaves. Once connected, the fd lives on the
 * event loop: open connections hold no thread (their number is bounded by PortForwardLimiter).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { errnoCode, FailedPreconditionError, NotFoundError, UnavailableError } from '../../common/errors';
import { ConcurrencyLimit } from '../../common/concurrency-limit';
import type { PortForwardBackend } from './backends';

/** Finds a pod's pinned network namespace (implemented by pod/PodManager). */
export interface PodNetnsLookup {
  /**
   * The netns path of a ready pod; `null` when the pod uses the host network; throws
   * NotFoundError for an unknown pod and FailedPreconditionError for one not ready.
   */
  netnsPathOf(podSandboxId: string): string | null;
}

/** The one native call needed (NativeBinding.connectInNetns matches it). */
export interface NetnsConnector {
  connectInNetns(netnsPath: string, host: string, port: number): Promise<number>;
}

/** Native connects (one thread each) running at once. */
const MAX_CONNECTS_IN_FLIGHT = 16;

export class NetnsPortForwardBackend implements PortForwardBackend {
  private readonly slots: ConcurrencyLimit;

  constructor(
    private readonly pods: PodNetnsLookup,
    private readonly native: NetnsConnector,
    maxConnectsInFlight = MAX_CONNECTS_IN_FLIGHT,
  ) {
    this.slots = new ConcurrencyLimit(maxConnectsInFlight);
  }

  /** Native connects running now (each on its own thread). */
  get connectsInFlight(): number {
    return this.slots.running;
  }

  async connect(podSandboxId: string, port: number, signal: AbortSignal): Promise<Duplex> {
    const netnsPath = this.pods.netnsPathOf(podSandboxId);
    if (netnsPath === null) return connectOnHostLoopback(port, signal);
    await this.slots.acquire({ signal, gone: () => new UnavailableError(`connect to port ${port} in pod ${podSandboxId}: client went away`) });
    let fd: number;
    try {
      // The slot is held until the native call returns, not until the client leaves: the thread
      // runs to its end either way.
      fd = await this.native.connectInNetns(netnsPath, '127.0.0.1', port).finally(() => this.slots.release());
    } catch (cause) {
      const code = errnoCode(cause);
      if (code === 'ENOENT' || code === 'EINVAL') {
        throw new FailedPreconditionError(`connect to port ${port} in pod ${podSandboxId}: network namespace ${netnsPath} is gone`, { cause });
      }
      throw new UnavailableError(`connect to port ${port} in pod ${podSandboxId}`, { cause });
    }
    if (signal.aborted) {
      fs.closeSync(fd); // the client left while we were connecting
      throw new UnavailableError(`connect to port ${port} in pod ${podSandboxId}: client went away`);
    }
    const socket = new net.Socket({ fd, readable: true, writable: true });
    socket.setNoDelay(true);
    return socket;
  }
}

function connectOnHostLoopback(port: number, signal: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const onAbort = () => socket.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (cause) => reject(new UnavailableError(`connect to port ${port} on the host network`, { cause })));
  });
}

/** A PodNetnsLookup over a plain map (tests, tools). */
export function staticNetnsLookup(map: Record<string, string | null>): PodNetnsLookup {
  return {
    netnsPathOf(id: string) {
      if (!(id in map)) throw new NotFoundError(`pod sandbox ${id} not found`);
      return map[id];
    },
  };
}
