/** A SandboxLookup over pods added by the test. */
import type { SandboxLookup, SandboxView } from '../interfaces';

export class FakeSandboxes implements SandboxLookup {
  readonly pods = new Map<string, SandboxView>();
  add(pod: Partial<SandboxView> & { id: string }, logDirectory: string): SandboxView {
    const full: SandboxView = {
      name: `pod-${pod.id}`,
      namespace: 'default',
      uid: `uid-${pod.id}`,
      attempt: 0,
      state: 'ready',
      runtimeHandler: '',
      namespacePaths: {},
      cgroupParent: '/berth-test',
      hostnamePath: '',
      hostsPath: '',
      resolvConfPath: '',
      logDirectory,
      config: { hostname: 'h' },
      ...pod,
    };
    this.pods.set(pod.id, full);
    return full;
  }
  getSandbox(id: string): SandboxView | undefined {
    return this.pods.get(id);
  }
}
