import { expect } from 'chai';
import { mountsBelow, parseMountInfo } from './host-cleanup';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:26 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '31 22 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
  '90 22 0:50 / /tmp/ctd/root/rootfs rw - overlay overlay rw,lowerdir=/a',
  '91 90 0:51 / /tmp/ctd/root/rootfs/dev/shm rw - tmpfs shm rw',
  '92 22 0:4 net:[4026532] /tmp/ctd/state/netns/cni-1 rw - nsfs nsfs rw',
  '93 22 0:52 / /tmp/ctd2/x rw - tmpfs t rw',
  '94 22 0:53 / /tmp/with\\040space/m rw - tmpfs t rw',
].join('\n');

describe('bench: host cleanup helpers', () => {
  it('parses mount points and filesystem types, decoding octal escapes', () => {
    const entries = parseMountInfo(MOUNTINFO);
    expect(entries).to.have.length(8);
    expect(entries[1]).to.deep.equal({ mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup' });
    expect(entries[5].fsType).to.equal('nsfs');
    expect(entries[7].mountPoint).to.equal('/tmp/with space/m');
  });

  it('lists only mounts strictly below a dir, deepest first', () => {
    const below = mountsBelow(parseMountInfo(MOUNTINFO), '/tmp/ctd');
    expect(below).to.deep.equal(['/tmp/ctd/root/rootfs/dev/shm', '/tmp/ctd/state/netns/cni-1', '/tmp/ctd/root/rootfs']);
    expect(mountsBelow(parseMountInfo(MOUNTINFO), '/tmp/ctd/')).to.deep.equal(below);
  });
});
