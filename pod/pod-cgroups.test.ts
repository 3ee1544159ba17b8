import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseCgroupMounts, PodCgroups, podCgroupName } from './pod-cgroups';
import { pinPath } from './namespace-pins';
import { renderHosts, renderResolvConf } from './pod-files';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

const HYBRID_MOUNTINFO = `22 1 0:21 / / rw - ext4 /dev/vda1 rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
41 30 0:28 / /mnt/cpu\\040again rw,relatime - cgroup cgroup rw,cpu
`;

describe('pod/pod-cgroups', () => {
  let dir: string;
  tempDirEach('berth-pod-cg-', (d) => (dir = d));

  it('finds every v1 and v2 hierarchy of a hybrid host once', () => {
    expect(parseCgroupMounts(HYBRID_MOUNTINFO)).to.deep.equal([
      { mountPoint: '/sys/fs/cgroup/cpu', version: 1, controllers: ['cpu'] },
      { mountPoint: '/sys/fs/cgroup/cpuset', version: 1, controllers: ['cpuset'] },
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', version: 1, controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/systemd', version: 1, controllers: ['name=systemd'] },
      { mountPoint: '/sys/fs/cgroup/unified', version: 2, controllers: [] },
    ]);
    expect(parseCgroupMounts('25 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate')).to.deep.equal([
      { mountPoint: '/sys/fs/cgroup', version: 2, controllers: [] },
    ]);
  });

  it('creates the pod cgroup under the parent in each hierarchy, seeds cpuset, removes only the leaf', async () => {
    for (const h of ['cpuset', 'unified']) mkdirSync(path.join(dir, h));
    writeFileSync(path.join(dir, 'cpuset', 'cpuset.cpus'), '0-1\n');
    writeFileSync(path.join(dir, 'cpuset', 'cpuset.mems'), '0\n');
    const cg = new PodCgroups([
      { mountPoint: path.join(dir, 'cpuset'), version: 1, controllers: ['cpuset'] },
      { mountPoint: path.join(dir, 'unified'), version: 2, controllers: [] },
    ]);
    const leaf = podCgroupName('ab'.repeat(32));
    expect(leaf).to.equal('berth-pod-abababababab');
    const created = await cg.create('/kubepods/pod1', leaf);
    expect(created.procs).to.deep.equal([
      path.join(dir, 'cpuset/kubepods/pod1', leaf, 'cgroup.procs'),
      path.join(dir, 'unified/kubepods/pod1', leaf, 'cgroup.procs'),
    ]);
    for (const d of created.dirs) expect(existsSync(d)).to.equal(true);
    await cg.remove(created.dirs);
    for (const d of created.dirs) expect(existsSync(d)).to.equal(false);
    expect(existsSync(path.join(dir, 'unified/kubepods/pod1'))).to.equal(true);
    await cg.remove(created.dirs); // idempotent
  });

  it('creates only the leaf when the parent exists, and reuses an existing leaf', async () => {
    mkdirSync(path.join(dir, 'unified', 'kubepods', 'pod2'), { recursive: true });
    const cg = new PodCgroups([{ mountPoint: path.join(dir, 'unified'), version: 2, controllers: [] }]);
    const first = await cg.create('/kubepods/pod2', 'leaf');
    expect(existsSync(first.dirs[0])).to.equal(true);
    const again = await cg.create('/kubepods/pod2', 'leaf');
    expect(again.dirs).to.deep.equal(first.dirs);
    await cg.remove(again.dirs);
    expect(existsSync(first.dirs[0])).to.equal(false);
    expect(existsSync(path.join(dir, 'unified', 'kubepods', 'pod2'))).to.equal(true);
  });

  it('denies every device in the v1 devices hierarchy of the pod cgroup, not in its parent', async () => {
    for (const h of ['devices', 'unified']) mkdirSync(path.join(dir, h, 'kubepods'), { recursive: true });
    const cg = new PodCgroups([
      { mountPoint: path.join(dir, 'devices'), version: 1, controllers: ['devices'] },
      { mountPoint: path.join(dir, 'unified'), version: 2, controllers: [] },
    ]);
    const created = await cg.create('/kubepods', 'leaf');
    expect(readFileSync(path.join(dir, 'devices/kubepods/leaf/devices.deny'), 'utf8')).to.equal('a');
    expect(created.v2Dirs).to.deep.equal([path.join(dir, 'unified/kubepods/leaf')]);
    expect(existsSync(path.join(dir, 'devices/kubepods/devices.deny'))).to.equal(false);
    expect(existsSync(path.join(dir, 'unified/kubepods/leaf/devices.deny'))).to.equal(false);
    rmSync(path.join(dir, 'devices/kubepods/leaf/devices.deny'));
    await cg.remove(created.dirs);
  });

  it('fails with a typed error and removes the cgroup when devices cannot be denied', async () => {
    mkdirSync(path.join(dir, 'devices', 'p', 'leaf', 'devices.deny'), { recursive: true }); // EISDIR
    mkdirSync(path.join(dir, 'unified'));
    const cg = new PodCgroups([
      { mountPoint: path.join(dir, 'unified'), version: 2, controllers: [] },
      { mountPoint: path.join(dir, 'devices'), version: 1, controllers: ['devices'] },
    ]);
    expect((await rejection(cg.create('/p', 'leaf'))).message).to.match(/^deny devices in pod cgroup \/p\/leaf/);
    expect(existsSync(path.join(dir, 'unified', 'p', 'leaf'))).to.equal(false);
  });

  it('fails with a typed error and leaves nothing when a hierarchy is unusable', async () => {
    mkdirSync(path.join(dir, 'ok'));
    const cg = new PodCgroups([
      { mountPoint: path.join(dir, 'ok'), version: 2, controllers: [] },
      { mountPoint: path.join(dir, 'missing'), version: 1, controllers: ['cpu'] },
    ]);
    expect((await rejection(cg.create('/p', 'leaf'))).message).to.match(/^create pod cgroup \/p\/leaf/);
    expect(existsSync(path.join(dir, 'ok', 'p'))).to.equal(false);
  });
});

describe('pod/pod-files', () => {
  it('renders resolv.conf from dns_config', () => {
    expect(renderResolvConf({ servers: ['10.96.0.10', '1.1.1.1'], searches: ['ns.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] })).to.equal(
      'search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:5\n',
    );
  });
  it('renders hosts with localhost and the pod IP line', () => {
    const hosts = renderHosts('web-0', ['10.1.0.5']);
    expect(hosts).to.contain('127.0.0.1\tlocalhost\n');
    expect(hosts).to.contain('::1\tlocalhost ip6-localhost ip6-loopback\n');
    expect(hosts.trimEnd().split('\n').pop()).to.equal('10.1.0.5\tweb-0');
    expect(pinPath('/run/berth', 'net', 'abc')).to.equal('/run/berth/ns/net/abc');
  });
});
