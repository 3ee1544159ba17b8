import { expect } from 'chai';
import { ContainerManager } from './container-manager';
import type { ConmonLaunch, ConmonStarted } from './conmon';
import { FakeMonitor } from './testing/fake-monitor';
import { fakeManagerOptions, managerFakes, shContainerConfig } from './testing/container-manager-fixtures';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

/** A monitor that notes whether the warmer was held while it launched. */
class WatchedMonitor extends FakeMonitor {
  heldDuringLaunch: boolean[] = [];
  constructor(private readonly held: () => number) {
    super();
  }
  override async launch(opts: ConmonLaunch): Promise<ConmonStarted> {
    this.heldDuringLaunch.push(this.held() > 0);
    await new Promise((r) => setTimeout(r, 5));
    this.heldDuringLaunch.push(this.held() > 0);
    return super.launch(opts);
  }
}

describe('runtime/ContainerManager launch keeps the cgroup attach lock warm', () => {
  let dir: string;
  let holds: number;
  let monitor: WatchedMonitor;
  let manager: ContainerManager;
  const warmer = {
    hold: () => {
      holds++;
      let released = false;
      return () => {
        if (!released) holds--;
        released = true;
      };
    },
  };

  tempDirEach('berth-warm-', async (d) => {
    dir = d;
    holds = 0;
    monitor = new WatchedMonitor(() => holds);
    manager = await ContainerManager.open(fakeManagerOptions(dir, { ...managerFakes(dir), monitor }, { attachLockWarmer: warmer }));
  });
  afterEach(() => manager.close());

  it('holds the warmer for the whole monitor launch and releases it once the container is created', async () => {
    const id = await manager.createContainer('pod1', shContainerConfig());
    await manager.startContainer(id);
    expect(monitor.heldDuringLaunch).to.deep.equal([true, true]);
    expect(holds).to.equal(0);
  });

  it('releases the warmer when the launch fails', async () => {
    monitor.fail = new Error('runc create failed');
    const id = await manager.createContainer('pod1', shContainerConfig());
    await rejection(manager.startContainer(id));
    expect(monitor.heldDuringLaunch).to.deep.equal([true, true]);
    expect(holds).to.equal(0);
  });
});
