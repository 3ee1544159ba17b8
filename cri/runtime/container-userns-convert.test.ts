import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { runtime } from '../api/generated/cri';
import { containerConfigFromWire } from './container-request-convert';

const range = { hostId: 131072, containerId: 0, length: 65536 };

function config(userns: runtime.v1.IUserNamespace | undefined, mount?: runtime.v1.IMount): runtime.v1.IContainerConfig {
  return {
    metadata: { name: 'c' },
    image: { image: 'busybox' },
    mounts: mount ? [mount] : [],
    linux: { securityContext: { namespaceOptions: { usernsOptions: userns } } },
  };
}

describe('cri/runtime container-request-convert: user namespaces', () => {
  it('carries the pod-mode mappings through', () => {
    const c = containerConfigFromWire(config({ mode: runtime.v1.NamespaceMode.POD, uids: [range], gids: [range] }));
    expect(c.security.userNamespace).to.deep.equal({ uids: [range], gids: [range] });
  });
  it('reads mode NODE as no user namespace', () => {
    expect(containerConfigFromWire(config({ mode: runtime.v1.NamespaceMode.NODE })).security.userNamespace).to.equal(undefined);
  });
  const refused: Array<[string, runtime.v1.IContainerConfig, RegExp]> = [
    ['mode CONTAINER', config({ mode: runtime.v1.NamespaceMode.CONTAINER }), /^linux\.security_context\.namespace_options\.userns_options\.mode: CONTAINER/],
    ['mode TARGET', config({ mode: runtime.v1.NamespaceMode.TARGET }), /userns_options\.mode: TARGET/],
    ['a range over host root', config({ uids: [{ ...range, hostId: 0 }], gids: [range] }), /userns_options\.uids\[0\]\.host_id: 0 overlaps/],
    ['an idmapped mount without a user namespace', config(undefined, { containerPath: '/d', hostPath: '/tmp', uidMappings: [range], gidMappings: [range] }), /^mounts\[0\]\.uid_mappings: an idmapped mount needs/],
    [
      'an idmapped mount with other mappings than the container',
      config({ uids: [range], gids: [range] }, { containerPath: '/d', hostPath: '/tmp', uidMappings: [{ ...range, hostId: 65536 }], gidMappings: [range] }),
      /^mounts\[0\]\.uid_mappings: must equal/,
    ],
  ];
  for (const [what, c, message] of refused) {
    it(`refuses ${what}, naming the field`, () => {
      expect(() => containerConfigFromWire(c)).to.throw(InvalidArgumentError).with.property('message').that.matches(message);
    });
  }
});
