/** Test-only: a real ContainerManager (fake runtime) and PodManager per test, in a temp dir. */
import * as path from 'node:path';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';
import { PodManager } from '../../pod/pod-manager';
import { fakePodManagerOptions } from '../../pod/testing/pod-manager-fixtures';
import { ContainerManager } from '../../runtime/container-manager';
import { fakeManagerOptions, managerFakes, type ManagerFakes } from '../../runtime/testing/container-manager-fixtures';

/** What realStoresEach gives each test. */
export interface RealStores {
  dir: string;
  fakes: ManagerFakes;
  containers: ContainerManager;
  pods: PodManager;
}

/** Registers, in the enclosing describe, fresh stores before each test and their closing after it. */
export function realStoresEach(prefix: string): RealStores {
  const s = {} as RealStores;
  tempDirEach(prefix, async (d) => {
    s.dir = d;
    s.fakes = managerFakes(d);
    s.containers = await ContainerManager.open(fakeManagerOptions(d, s.fakes));
    s.pods = await PodManager.create(fakePodManagerOptions(path.join(d, 'pods-root')));
  });
  afterEach(() => {
    s.containers.close();
    s.pods.close();
  });
  return s;
}
