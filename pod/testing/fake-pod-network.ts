import type { PodNetwork, PodNetworkRef, PodNetworkSetup } from '../dependencies';

/** A network that hands out 10.99.0.x addresses and tracks attachments. */
export class FakePodNetwork implements PodNetwork {
  readonly attached = new Map<string, PodNetworkSetup>();
  readonly setUps: PodNetworkSetup[] = [];
  readonly tearDowns: string[] = [];
  failSetUp: Error | undefined;
  /** Make ADD fail after it attached (as a plugin failing mid-chain does). */
  attachBeforeFailing = false;
  /** Make ADD never finish (berthd "crashes" mid-RunPodSandbox). */
  hang = false;
  private next = 2;

  async setUpPod(pod: PodNetworkSetup): Promise<{ ips: string[]; interfaceName: string; raw: unknown }> {
    this.setUps.push(pod);
    if (this.hang) return new Promise(() => undefined);
    if (this.failSetUp) {
      if (this.attachBeforeFailing) this.attached.set(pod.id, pod);
      throw this.failSetUp;
    }
    this.attached.set(pod.id, pod);
    const ip = `10.99.0.${this.next++}`;
    return { ips: [ip], interfaceName: 'eth0', raw: { cniVersion: '1.0.0', ips: [{ address: `${ip}/24` }] } };
  }

  async tearDownPod(pod: PodNetworkRef): Promise<void> {
    this.tearDowns.push(pod.id);
    this.attached.delete(pod.id);
  }

  async checkPod(pod: PodNetworkRef): Promise<void> {
    if (!this.attached.has(pod.id)) throw new Error(`pod ${pod.id} not attached`);
  }
}
