import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { cgroupDriverProblem, systemdIsInit, type SystemdProbe } from './cgroup-driver';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('daemon/cgroup-driver', () => {
  let tmp: string;
  let probe: SystemdProbe;
  tempDirEach('berth-cgdriver-', (d) => {
    tmp = d;
    probe = { runSystemdSystem: path.join(tmp, 'run-systemd-system'), pid1Comm: path.join(tmp, 'comm') };
  });

  const hosts: Array<{ name: string; booted: boolean; comm?: string; running: boolean; why?: string }> = [
    { name: 'systemd booted the host', booted: true, comm: 'systemd\n', running: true },
    { name: 'a container-like host (no /run/systemd/system, PID 1 bash)', booted: false, comm: 'bash\n', running: false, why: 'does not exist (PID 1 is "bash")' },
    { name: 'the marker exists but PID 1 is tini', booted: true, comm: 'tini\n', running: false, why: 'PID 1 is "tini", not systemd' },
    { name: 'nothing readable', booted: false, running: false, why: 'run-systemd-system does not exist' },
  ];
  for (const h of hosts) {
    it(`detects systemd as init: ${h.name}`, async () => {
      if (h.booted) await fs.mkdir(probe.runSystemdSystem);
      if (h.comm !== undefined) await fs.writeFile(probe.pid1Comm, h.comm);
      const got = await systemdIsInit(probe);
      expect(got.running).to.equal(h.running);
      if (!got.running) expect(got.why).to.contain(h.why);
    });
  }

  it('accepts cgroupfs without probing', async () => {
    expect(await cgroupDriverProblem({ cgroupDriver: 'cgroupfs' }, probe)).to.equal(undefined);
  });

  it('refuses systemd without systemd as PID 1, naming the key and why', async () => {
    await fs.writeFile(probe.pid1Comm, 'bash\n');
    const problem = await cgroupDriverProblem({ cgroupDriver: 'systemd' }, probe);
    expect(problem).to.match(/^\[daemon\] cgroup_driver: "systemd" needs systemd as the init system \(PID 1\), but .*run-systemd-system does not exist \(PID 1 is "bash"\)/);
    expect(problem).to.contain('cgroup_driver = "cgroupfs"');
  });

  it('refuses systemd even with systemd as PID 1: pods cannot be placed in slices yet', async () => {
    await fs.mkdir(probe.runSystemdSystem);
    await fs.writeFile(probe.pid1Comm, 'systemd\n');
    const problem = await cgroupDriverProblem({ cgroupDriver: 'systemd' }, probe);
    expect(problem).to.contain('[daemon] cgroup_driver: the "systemd" cgroup driver is not supported yet');
    expect(problem).to.contain('cgroup_driver = "cgroupfs"');
  });
});
