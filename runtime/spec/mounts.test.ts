import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { bindMount } from './mounts';

describe('runtime/spec/mounts bindMount', () => {
  const refused: Array<{ name: string; containerPath: string; hostPath: string; message: string }> = [
    { name: 'a relative host path', containerPath: '/d', hostPath: 'h', message: 'host_path "h" is not absolute' },
    { name: 'a host path with ".."', containerPath: '/d', hostPath: '/srv/../etc', message: 'host_path "/srv/../etc" has ".." segments' },
    { name: 'a container path with ".."', containerPath: '/d/../../x', hostPath: '/h', message: 'container_path "/d/../../x" has ".." segments' },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}`, () => expect(() => bindMount({ containerPath: c.containerPath, hostPath: c.hostPath, readonly: false, propagation: 'private' }, true)).to.throw(InvalidArgumentError, c.message));
  }
  it('keeps names that merely contain dots', () => {
    expect(bindMount({ containerPath: '/d..x', hostPath: '/srv/..data', readonly: false, propagation: 'private' }, true).source).to.equal('/srv/..data');
  });
});
