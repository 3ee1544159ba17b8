import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { runtime } from '../api/generated/cri';
import { apparmorFromWire, containerConfigFromWire } from './container-request-convert';
import { statusToWire } from './container-response-convert';

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

  it('refuses an unknown seccomp profile type, naming the field', () => {
    const seccomp = { profileType: 7 as runtime.v1.SecurityProfile.ProfileType };
    expect(() => containerConfigFromWire({ metadata: { name: 'a' }, image: { image: 'i' }, linux: { securityContext: { seccomp } } })).to.throw(
      InvalidArgumentError,
      /^linux\.security_context\.seccomp\.profile_type 7 is unknown/,
    );
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

describe('cri/runtime container mounts: image volumes', () => {
  /** A CreateContainer config as it arrives on the wire. */
  const decoded = (mounts: runtime.v1.IMount[]) => runtime.v1.ContainerConfig.decode(runtime.v1.ContainerConfig.encode({ metadata: { name: 'a' }, image: { image: 'i' }, mounts }).finish());

  it('passes Mount.image and image_sub_path through (host_path of an image volume is not used); a plain bind has neither', () => {
    const c = containerConfigFromWire(decoded([
      { containerPath: '/data', hostPath: '/etc', readonly: true, image: { image: 'registry.example/data@sha256:' + 'a'.repeat(64) }, imageSubPath: 'dir' },
      { containerPath: '/plain', hostPath: '/srv' },
    ]));
    expect(c.mounts[0]).to.deep.equal({ containerPath: '/data', hostPath: '', readonly: true, propagation: 'private', recursiveReadOnly: false, image: 'registry.example/data@sha256:' + 'a'.repeat(64), imageSubPath: 'dir' });
    expect(c.mounts[1]).to.not.have.property('image');
  });

  it('reports an image volume in ContainerStatus with its image and sub path, host_path being berth\'s mount', () => {
    const view = { id: 'c', podSandboxId: 'p', name: 'a', attempt: 0, state: 'running' as const, createdAtNs: 0, startedAtNs: 0, finishedAtNs: 0, exitCode: 0, image: { requested: 'i', id: 'sha256:i', ref: 'i', name: 'i' }, stopSignal: '', reason: '', message: '', labels: {}, annotations: {}, logPath: '', user: { uid: 0, gid: 0, supplementalGroups: [] }, pid: 1,
      mounts: [{ containerPath: '/data', hostPath: '/var/lib/berth/containers/c/iv/0/dir', readonly: true, propagation: 'private' as const, image: 'data:1', imageSubPath: 'dir' }, { containerPath: '/plain', hostPath: '/srv', readonly: false, propagation: 'private' as const }] };
    const status = runtime.v1.ContainerStatus.decode(runtime.v1.ContainerStatus.encode(statusToWire(view)).finish());
    expect(status.mounts[0]).to.deep.include({ containerPath: '/data', hostPath: '/var/lib/berth/containers/c/iv/0/dir', readonly: true, imageSubPath: 'dir' });
    expect(status.mounts[0].image?.image).to.equal('data:1');
    expect(status.mounts[1].image).to.equal(null);
  });
});
