import { expect } from 'chai';
import { InvalidArgumentError } from '../common/errors';
import { IdMappingInput } from '../common/id-mappings';
import { NamespaceMode, PodSandboxConfigInput } from './types';
import { validatePodConfig } from './validate-config';

const enabled = { handlers: ['runc', 'crun'], defaultHandler: 'runc', userNamespaces: (h: string) => h === 'runc' };
const disabled = { handlers: ['runc'], defaultHandler: 'runc' };
const range = (hostId: number, length = 65536, containerId = 0): IdMappingInput => ({ hostId, containerId, length });

function pod(userns: { mode?: number; uids?: IdMappingInput[]; gids?: IdMappingInput[] }, extra: { network?: number; ipc?: number; pid?: number } = {}): PodSandboxConfigInput {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u-1', attempt: 0 },
    linux: { securityContext: { namespaceOptions: { ...extra, usernsOptions: userns } } },
  };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('pod/validate-config: user namespaces', () => {
  const field = 'config.linux.security_context.namespace_options';
  it('accepts a 65536-aligned range of 65536 ids above the host ids', () => {
    const cfg = validatePodConfig(pod({ mode: NamespaceMode.POD, uids: [range(196608)], gids: [range(196608)] }), '', enabled);
    expect(cfg.userNamespace).to.deep.equal({ uids: [{ hostId: 196608, containerId: 0, length: 65536 }], gids: [{ hostId: 196608, containerId: 0, length: 65536 }] });
  });
  it('reads absent options and mode NODE as the host user namespace', () => {
    expect(validatePodConfig(pod({ mode: NamespaceMode.NODE }), '', disabled).userNamespace).to.equal(undefined);
    const noOptions: PodSandboxConfigInput = { metadata: { name: 'w', namespace: 'd', uid: 'u' } };
    expect(validatePodConfig(noOptions, '', disabled).userNamespace).to.equal(undefined);
  });
  const refused: Array<[string, PodSandboxConfigInput, RegExp]> = [
    ['a handler without support', pod({ uids: [range(65536)], gids: [range(65536)] }), new RegExp(`^${field}\\.userns_options: runtime handler "runc" does not support`)],
    ['a range overlapping host ids 0-65535', pod({ uids: [range(0)], gids: [range(65536)] }), /userns_options\.uids\[0\]\.host_id: 0 overlaps/],
    ['an unaligned range', pod({ uids: [range(65536)], gids: [range(70000)] }), /userns_options\.gids\[0\]\.host_id: 70000 is not a multiple of 65536/],
    ['a short range', pod({ uids: [range(65536, 1000)], gids: [range(65536)] }), /userns_options\.uids\[0\]\.length: must be 65536/],
    ['a shifted container id', pod({ uids: [range(65536, 65536, 1)], gids: [range(65536)] }), /userns_options\.uids\[0\]\.container_id/],
    ['two mappings', pod({ uids: [range(65536), range(131072)], gids: [range(65536)] }), /userns_options\.uids: exactly one mapping/],
    ['no mappings', pod({ mode: NamespaceMode.POD }), /userns_options\.uids: exactly one mapping/],
    ['a range past the last id', pod({ uids: [range(0xffff0000)], gids: [range(65536)] }), /reaches past the last id/],
    ['a non-32-bit id', pod({ uids: [range(2 ** 40)], gids: [range(65536)] }), /is not a 32-bit id/],
    ['mode CONTAINER', pod({ mode: NamespaceMode.CONTAINER }), /userns_options\.mode: CONTAINER is not supported/],
    ['mode TARGET', pod({ mode: NamespaceMode.TARGET }), /userns_options\.mode: TARGET is not supported/],
    ['mode NODE with mappings', pod({ mode: NamespaceMode.NODE, uids: [range(65536)] }), /mode NODE .* takes no mappings/],
    ['host network', pod({ uids: [range(65536)], gids: [range(65536)] }, { network: NamespaceMode.NODE }), new RegExp(`^${field}\\.network: NODE cannot be combined`)],
    ['host ipc', pod({ uids: [range(65536)], gids: [range(65536)] }, { ipc: NamespaceMode.NODE }), new RegExp(`^${field}\\.ipc: NODE cannot be combined`)],
    ['host pid', pod({ uids: [range(65536)], gids: [range(65536)] }, { pid: NamespaceMode.NODE }), new RegExp(`^${field}\\.pid: NODE cannot be combined`)],
    [
      'a privileged pod',
      { ...pod({ uids: [range(65536)], gids: [range(65536)] }), linux: { securityContext: { privileged: true, namespaceOptions: { usernsOptions: { uids: [range(65536)], gids: [range(65536)] } } } } },
      /^config\.linux\.security_context\.privileged: a privileged pod cannot have a user namespace/,
    ],
  ];
  for (const [what, config, message] of refused) {
    it(`refuses ${what}`, () => {
      const choice = what === 'a handler without support' ? disabled : enabled;
      expect(refusal(() => validatePodConfig(config, '', choice))).to.match(message);
    });
  }
  it('refuses user namespaces on a handler that lacks them even when another has them', () => {
    expect(refusal(() => validatePodConfig(pod({ uids: [range(65536)], gids: [range(65536)] }), 'crun', enabled))).to.match(/runtime handler "crun" does not support/);
  });
});
