/**
 * Pod cgroups on the host's real hierarchies (root): pods started at the same moment under a
 * cgroup parent that does not exist yet all get a seeded v1 cpuset (else pause's join fails with
 * ENOSPC), whichever of them made the parent level.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectCgroupHierarchies, PodCgroups } from '../../pod/pod-cgroups';

describe('e2e: pod cgroups on the real hierarchies', function () {
  this.timeout(30_000);
  const parent = `/berth-e2e-cpuset-${process.pid}`;
  let cgroups: PodCgroups;
  const made: string[][] = [];

  before(async function () {
    expect(process.getuid?.(), 'cgroup dirs need root').to.equal(0);
    cgroups = new PodCgroups(await detectCgroupHierarchies());
  });
  after(async () => {
    for (const dirs of made) await cgroups.remove(dirs).catch(() => undefined);
    for (const top of cgroups.mountPoints()) {
      try {
        for (let round = 0; round < 5; round++) if (fs.existsSync(path.join(top, parent, `r${round}`))) fs.rmdirSync(path.join(top, parent, `r${round}`));
        fs.rmdirSync(path.join(top, parent));
      } catch {
        // absent
      }
    }
  });

  it('concurrent pod starts under a new parent each get a non-empty cpuset', async () => {
    const cpusetMount = (await detectCgroupHierarchies()).find((h) => h.version === 1 && h.controllers.includes('cpuset'));
    expect(cpusetMount, 'this host has a v1 cpuset hierarchy').to.not.equal(undefined);
    for (let round = 0; round < 5; round++) {
      const created = await Promise.all(Array.from({ length: 6 }, (_, i) => cgroups.create(`${parent}/r${round}`, `berth-pod-${round}-${i}`)));
      made.push(...created.map((c) => c.dirs));
      for (const c of created) {
        const dir = c.dirs.find((d) => d.startsWith(cpusetMount!.mountPoint + '/'))!;
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          expect(fs.readFileSync(path.join(dir, file), 'utf8').trim(), `${dir}/${file}`).to.not.equal('');
          expect(fs.readFileSync(path.join(path.dirname(dir), file), 'utf8').trim(), `${path.dirname(dir)}/${file}`).to.not.equal('');
        }
      }
    }
  });
});
