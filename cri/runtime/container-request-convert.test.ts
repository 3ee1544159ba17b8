import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { runtime } from '../api/generated/cri';
import { apparmorFromWire, containerConfigFromWire } from './container-request-convert';

const { RuntimeDefault, Unconfined, Localhost } = runtime.v1.SecurityProfile.ProfileType;

/** Decodes what kubelet would encode, so unset fields read as the generated defaults. */
const wire = (sc: runtime.v1.ILinuxContainerSecurityContext) => runtime.v1.LinuxContainerSecurityContext.decode(runtime.v1.LinuxContainerSecurityContext.encode(sc).finish());

describe('cri/runtime container-request-convert: security context', () => {
  const rows: Array<[string, runtime.v1.ILinuxContainerSecurityContext, unknown]> = [
    ['nothing: unset (the runtime default applies)', {}, undefined],
    ['apparmor RuntimeDefault', { apparmor: { profileType: RuntimeDefault } }, { type: 'RuntimeDefault' }],
    ['apparmor Unconfined', { apparmor: { profileType: Unconfined } }, { type: 'Unconfined' }],
    ['apparmor Localhost', { apparmor: { profileType: Localhost, localhostRef: 'my-app' } }, { type: 'Localhost', localhostRef: 'my-app' }],
    ['apparmor Localhost with the localhost/ prefix left on', { apparmor: { profileType: Localhost, localhostRef: 'localhost/my-app' } }, { type: 'Localhost', localhostRef: 'my-app' }],
    ['deprecated runtime/default', { apparmorProfile: 'runtime/default' }, { type: 'RuntimeDefault' }],
    ['deprecated unconfined', { apparmorProfile: 'unconfined' }, { type: 'Unconfined' }],
    ['deprecated localhost/<name>', { apparmorProfile: 'localhost/my-app' }, { type: 'Localhost', localhostRef: 'my-app' }],
    ['the message wins over the deprecated string', { apparmor: { profileType: Unconfined }, apparmorProfile: 'localhost/my-app' }, { type: 'Unconfined' }],
  ];
  for (const [name, sc, want] of rows) {
    it(name, () => expect(apparmorFromWire(wire(sc))).to.deep.equal(want));
  }

  it('refuses an unknown deprecated apparmor_profile, naming the field', () => {
    expect(() => apparmorFromWire(wire({ apparmorProfile: 'docker-default' }))).to.throw(InvalidArgumentError, /linux\.security_context\.apparmor_profile "docker-default"/);
  });

  it('refuses an unknown profile type, naming the field', () => {
    // field 16 (apparmor) { field 1 (profile_type) = 7 }, as a hostile client can send it
    const sc = runtime.v1.LinuxContainerSecurityContext.decode(Uint8Array.from([0x82, 0x01, 0x02, 0x08, 0x07]));
    expect(() => apparmorFromWire(sc)).to.throw(InvalidArgumentError, /apparmor\.profile_type 7/);
  });

  it('the container config carries apparmor and privileged through', () => {
    const c = containerConfigFromWire({ metadata: { name: 'a' }, image: { image: 'i' }, linux: { securityContext: wire({ privileged: true, apparmor: { profileType: Localhost, localhostRef: 'p' } }) } });
    expect(c.security).to.include({ privileged: true });
    expect(c.security.apparmor).to.deep.equal({ type: 'Localhost', localhostRef: 'p' });
  });

  describe('pid namespace mode: absent means POD (the CRI enum zero value)', () => {
    const config = (linux: runtime.v1.ILinuxContainerConfig | undefined) => containerConfigFromWire({ metadata: { name: 'a' }, image: { image: 'i' }, linux });
    it('no linux section at all', () => expect(config(undefined).security.pidMode).to.equal('POD'));
    it('a security context without namespace_options', () => expect(config({ securityContext: wire({ privileged: false }) }).security.pidMode).to.equal('POD'));
    it('namespace_options without pid', () => expect(config({ securityContext: wire({ namespaceOptions: { network: runtime.v1.NamespaceMode.POD } }) }).security.pidMode).to.equal('POD'));
    it('an explicit CONTAINER stays CONTAINER', () => expect(config({ securityContext: wire({ namespaceOptions: { pid: runtime.v1.NamespaceMode.CONTAINER } }) }).security.pidMode).to.equal('CONTAINER'));
    it('an unknown mode is InvalidArgument naming the field', () => {
      expect(() => config({ securityContext: { namespaceOptions: { pid: 9 as runtime.v1.NamespaceMode } } })).to.throw(InvalidArgumentError, /linux\.security_context\.namespace_options\.pid: unknown mode 9/);
    });
  });
});
