import { expect } from 'chai';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ContainerManager } from './container-manager';
import { fakeManagerOptions, managerFakes, shContainerConfig } from './testing/container-manager-fixtures';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('runtime/container record writes (what gets fsynced)', () => {
  let dir: string;
  let manager: ContainerManager;
  let synced: string[];
  const realOpen = fsp.open;

  tempDirEach('berth-recw-', async (d) => {
    dir = d;
    manager = await ContainerManager.open(fakeManagerOptions(dir, managerFakes(dir)));
    synced = [];
    // Every fsync, by the path the synced handle was opened with.
    fsp.open = (async (file: Parameters<typeof fsp.open>[0], flags?: Parameters<typeof fsp.open>[1], mode?: Parameters<typeof fsp.open>[2]) => {
      const handle = await realOpen(file, flags, mode);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        synced.push(String(file));
        await sync();
      };
      return handle;
    }) as typeof fsp.open;
  });
  afterEach(() => {
    fsp.open = realOpen;
    manager.close();
  });

  it('CreateContainer syncs the new record file only (not its new directory); later writes sync file and directory', async () => {
    const id = await manager.createContainer('pod1', shContainerConfig());
    const containerDir = path.join(dir, 'containers', id);
    const onCreate = synced.filter((p) => p.startsWith(containerDir));
    expect(onCreate).to.have.length(1);
    expect(path.dirname(onCreate[0])).to.equal(containerDir);
    expect(path.basename(onCreate[0])).to.match(/^\.state\.json\.tmp-/);
    expect(JSON.parse(readFileSync(path.join(containerDir, 'state.json'), 'utf8'))).to.include({ id, state: 'created' });

    synced = [];
    await manager.startContainer(id);
    const onStart = synced.filter((p) => p.startsWith(containerDir));
    expect(onStart.map((p) => (p === containerDir ? 'dir' : path.basename(p).replace(/-.*$/, '')))).to.deep.equal(['.state.json.tmp', 'dir']);
  });
});
