/**
 * Sandbox lifecycle events for GetContainerEvents: kubelet's evented PLEG expects, as containerd
 * sends them, events whose container id is the sandbox id when a pod sandbox is created, started,
 * stopped and deleted. The pod layer does not emit events itself; this wrapper around its
 * service emits them after each successful call, so the CRI handlers see one event source.
 */
import type { PodSandboxService } from '../cri/runtime/pod-handlers';
import { ContainerEventHub, type ContainerEvent, type ContainerEventListener, type ContainerEventType } from '../runtime/container-events';

/** The pod service with sandbox events. */
export class EventedPodService implements PodSandboxService {
  private readonly hub = new ContainerEventHub();

  constructor(private readonly pods: PodSandboxService) {}

  /** Subscribes to sandbox events; returns the unsubscribe function. */
  onEvent(listener: ContainerEventListener): () => void {
    return this.hub.subscribe(listener);
  }

  async runPodSandbox(...args: Parameters<PodSandboxService['runPodSandbox']>): Promise<string> {
    const id = await this.pods.runPodSandbox(...args);
    this.emit('created', id);
    this.emit('started', id);
    return id;
  }

  async stopPodSandbox(idOrPrefix: string): Promise<void> {
    const id = this.fullId(idOrPrefix);
    const wasReady = id !== undefined && this.pods.podSandboxStatus(id).state === 'ready';
    await this.pods.stopPodSandbox(idOrPrefix);
    if (id && wasReady) this.emit('stopped', id);
  }

  async removePodSandbox(idOrPrefix: string): Promise<void> {
    const id = this.fullId(idOrPrefix);
    await this.pods.removePodSandbox(idOrPrefix);
    if (id) this.emit('deleted', id);
  }

  podSandboxStatus(...args: Parameters<PodSandboxService['podSandboxStatus']>): ReturnType<PodSandboxService['podSandboxStatus']> {
    return this.pods.podSandboxStatus(...args);
  }

  listPodSandboxes(...args: Parameters<PodSandboxService['listPodSandboxes']>): ReturnType<PodSandboxService['listPodSandboxes']> {
    return this.pods.listPodSandboxes(...args);
  }

  /** No event: a resize changes no state kubelet watches for. */
  updatePodSandboxResources(...args: Parameters<PodSandboxService['updatePodSandboxResources']>): ReturnType<PodSandboxService['updatePodSandboxResources']> {
    return this.pods.updatePodSandboxResources(...args);
  }

  /** The full id of an existing pod (undefined when unknown: the call will say so itself). */
  private fullId(idOrPrefix: string): string | undefined {
    try {
      return this.pods.podSandboxStatus(idOrPrefix).id;
    } catch {
      return undefined;
    }
  }

  private emit(type: ContainerEventType, id: string): void {
    const event: ContainerEvent = { type, containerId: id, podSandboxId: id, createdAtNs: Date.now() * 1e6 };
    this.hub.emit(event);
  }
}
