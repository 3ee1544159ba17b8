/** A conmon launcher that records launches and answers a fixed pid (or a set failure). */
import type { ConmonLaunch, ConmonStarted, ContainerMonitorLauncher } from '../conmon';

export class FakeMonitor implements ContainerMonitorLauncher {
  readonly launches: ConmonLaunch[] = [];
  fail: Error | undefined;
  async launch(opts: ConmonLaunch): Promise<ConmonStarted> {
    this.launches.push(opts);
    if (this.fail) throw this.fail;
    return { pid: 4242 };
  }
}
