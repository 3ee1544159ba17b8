import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { UserNamespaceMappings } from '../../common/id-mappings';
import { checkUserMapped, containerNamespaces } from './namespaces';
import { specInput } from '../testing/spec-fixtures';

const mappings = (hostId: number): UserNamespaceMappings => ({
  uids: [{ hostId, containerId: 0, length: 65536 }],
  gids: [{ hostId, containerId: 0, length: 65536 }],
});

describe('runtime/spec/namespaces: user namespace', () => {
  const plain = specInput().sandbox;
  const userPod = { ...plain, userNamespace: mappings(131072), namespacePaths: { ...plain.namespacePaths, user: '/run/berth/ns/user/pod1' } };

  it("joins the pod's pinned user namespace when the container asks for the pod's mappings", () => {
    const ns = containerNamespaces({ sandbox: userPod, pidMode: 'CONTAINER', userNamespace: mappings(131072), cgroupVersion: 2 });
    expect(ns).to.deep.include({ type: 'user', path: '/run/berth/ns/user/pod1' });
  });

  const refused: Array<[string, () => unknown, RegExp]> = [
    ['a container asking for a user namespace in a pod without one', () => containerNamespaces({ sandbox: plain, pidMode: 'CONTAINER', userNamespace: mappings(131072), cgroupVersion: 2 }), /userns_options: pod sandbox pod1 has no user namespace/],
    ['a container with mappings other than its pod\'s', () => containerNamespaces({ sandbox: userPod, pidMode: 'CONTAINER', userNamespace: mappings(196608), cgroupVersion: 2 }), /userns_options: must equal the mappings of pod sandbox pod1/],
    ['a container without a user namespace in a pod with one', () => containerNamespaces({ sandbox: userPod, pidMode: 'CONTAINER', cgroupVersion: 2 }), /userns_options: must equal/],
    ['a pod with mappings but no pinned namespace', () => containerNamespaces({ sandbox: { ...plain, userNamespace: mappings(131072) }, pidMode: 'CONTAINER', userNamespace: mappings(131072), cgroupVersion: 2 }), /no pinned user namespace/],
  ];
  for (const [what, fn, message] of refused) {
    it(`refuses ${what}`, () => {
      expect(fn).to.throw(InvalidArgumentError).with.property('message').that.matches(message);
    });
  }

  it('accepts container ids inside the pod range and refuses ids outside it, naming the field', () => {
    expect(() => checkUserMapped({ uid: 65535, gid: 0, additionalGids: [65535] }, userPod)).to.not.throw();
    expect(() => checkUserMapped({ uid: 65536, gid: 0, additionalGids: [] }, userPod)).to.throw(InvalidArgumentError, /^linux\.security_context\.run_as_user: uid 65536 is not mapped/);
    expect(() => checkUserMapped({ uid: 0, gid: 0, additionalGids: [70000] }, userPod)).to.throw(InvalidArgumentError, /^linux\.security_context\.run_as_group: gid 70000 is not mapped/);
    expect(() => checkUserMapped({ uid: 70000, gid: 70000, additionalGids: [] }, plain), 'no user namespace: any id').to.not.throw();
  });
});
