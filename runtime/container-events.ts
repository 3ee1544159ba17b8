/** Container lifecycle events for GetContainerEvents (and metrics). */

export type ContainerEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface ContainerEvent {
  type: ContainerEventType;
  containerId: string;
  podSandboxId: string;
  /** ns since the epoch. */
  createdAtNs: number;
}

export type ContainerEventListener = (event: ContainerEvent) => void;

/** A tiny synchronous fan-out; a throwing listener does not stop the others. */
export class ContainerEventHub {
  private readonly listeners = new Set<ContainerEventListener>();

  /** Subscribes; the returned function unsubscribes. */
  subscribe(listener: ContainerEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ContainerEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a broken subscriber must not break the container lifecycle
      }
    }
  }
}
