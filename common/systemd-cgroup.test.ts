import { expect } from 'chai';
import { InvalidArgumentError } from './errors';
import { expandSlice, podSliceName, scopeName, systemdCgroupPath } from './systemd-cgroup';

describe('common/systemd-cgroup', () => {
  const expansions: Array<[string, string]> = [
    ['-.slice', '/'],
    ['system.slice', '/system.slice'],
    ['a-b-c.slice', '/a.slice/a-b.slice/a-b-c.slice'],
    ['kubepods-burstable-pod1234_5678.slice', '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice'],
    ['kubepods-pod9.slice', '/kubepods.slice/kubepods-pod9.slice'],
  ];
  for (const [slice, want] of expansions) {
    it(`expands ${slice} to ${want}`, () => expect(expandSlice(slice)).to.equal(want));
  }

  const malformed = ['', '.slice', 'a.scope', 'a--b.slice', '-a.slice', 'a-.slice', 'a/b.slice', 'kubepods'];
  for (const slice of malformed) {
    it(`refuses the slice name ${JSON.stringify(slice)}`, () => expect(() => expandSlice(slice)).to.throw(InvalidArgumentError, 'is not a systemd slice name'));
  }

  it('names scopes and expands runc cgroupsPaths', () => {
    expect(scopeName('berth', 'c0ffee')).to.equal('berth-c0ffee.scope');
    expect(scopeName('', 'c0ffee')).to.equal('c0ffee.scope');
    expect(systemdCgroupPath('kubepods-besteffort-pod1.slice:berth:abc')).to.equal('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/berth-abc.scope');
    expect(systemdCgroupPath(':berth:abc')).to.equal('/berth-abc.scope');
    expect(() => systemdCgroupPath('a.slice:berth')).to.throw(InvalidArgumentError);
    expect(() => systemdCgroupPath('a.slice:berth:')).to.throw(InvalidArgumentError, 'no scope name');
  });

  it('names pod slices as kubelet does (dashes of the uid become underscores)', () => {
    expect(podSliceName('burstable', '12ab-34cd')).to.equal('kubepods-burstable-pod12ab_34cd.slice');
    expect(podSliceName('besteffort', 'u')).to.equal('kubepods-besteffort-podu.slice');
    expect(podSliceName('guaranteed', 'a-b')).to.equal('kubepods-poda_b.slice');
    expect(expandSlice(podSliceName('burstable', '12ab-34cd'))).to.equal('/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12ab_34cd.slice');
  });
});
