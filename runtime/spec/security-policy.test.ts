/**
 * Security policy of the spec builder, table-driven: privileged containers run without seccomp
 * and AppArmor whatever the request names; AppArmor profiles per request and host; RuntimeDefault
 * seccomp refuses io_uring.
 */
import { expect } from 'chai';
import { FailedPreconditionError, InvalidArgumentError } from '../../common/errors';
import { buildContainerSpec } from './build-spec';
import { ALL_LINUX_CAPABILITIES } from './capabilities';
import type { AppArmorHostFacts, SpecBuildInput } from './inputs';
import type { OciSpec } from './oci-types';
import { runtimeDefaultProfile } from './seccomp';
import { specInput } from '../testing/spec-fixtures';

interface Row {
  name: string;
  patch: (i: SpecBuildInput) => void;
  expect: (spec: OciSpec) => void;
}

const BLOCKS_SETHOSTNAME = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO' }] };
const privileged = (i: SpecBuildInput) => (i.config.security.privileged = true);

const seccompRows: Row[] = [
  { name: 'privileged + Localhost profile: no seccomp', patch: (i) => (privileged(i), (i.config.security.seccomp = { type: 'Localhost', localhostRef: '/p.json' }), (i.localhostSeccompProfile = BLOCKS_SETHOSTNAME)), expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  { name: 'privileged + Localhost profile not loaded: no seccomp, no error', patch: (i) => (privileged(i), (i.config.security.seccomp = { type: 'Localhost', localhostRef: '/missing.json' })), expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  { name: 'privileged + Localhost without a ref: no seccomp, no error', patch: (i) => (privileged(i), (i.config.security.seccomp = { type: 'Localhost' })), expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  { name: 'privileged + RuntimeDefault: no seccomp', patch: (i) => (privileged(i), (i.config.security.seccomp = { type: 'RuntimeDefault' })), expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  { name: 'privileged + Unconfined: no seccomp', patch: (i) => (privileged(i), (i.config.security.seccomp = { type: 'Unconfined' })), expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  { name: 'unprivileged + Localhost: the profile as given', patch: (i) => ((i.config.security.seccomp = { type: 'Localhost', localhostRef: '/p.json' }), (i.localhostSeccompProfile = BLOCKS_SETHOSTNAME)), expect: (s) => expect(s.linux.seccomp).to.deep.equal(BLOCKS_SETHOSTNAME) },
  { name: 'unprivileged + RuntimeDefault: our profile', patch: (i) => (i.config.security.seccomp = { type: 'RuntimeDefault' }), expect: (s) => expect(s.linux.seccomp?.defaultAction).to.equal('SCMP_ACT_ERRNO') },
];

const APPARMOR_HOST: AppArmorHostFacts = { enabled: true, defaultProfile: 'berth-default', defaultProfileLoaded: true };
const withAppArmor = (i: SpecBuildInput) => (i.defaults.apparmor = { ...APPARMOR_HOST });
const noProfile = (s: OciSpec) => expect(s.process).to.not.have.property('apparmorProfile');
const profile = (name: string) => (s: OciSpec) => expect(s.process.apparmorProfile).to.equal(name);

const apparmorRows: Row[] = [
  // a host with AppArmor
  { name: 'AppArmor host, nothing asked: berth-default (as cri-o applies its default)', patch: withAppArmor, expect: profile('berth-default') },
  { name: 'AppArmor host, RuntimeDefault: berth-default', patch: (i) => (withAppArmor(i), (i.config.security.apparmor = { type: 'RuntimeDefault' })), expect: profile('berth-default') },
  { name: 'AppArmor host, Localhost: that profile', patch: (i) => (withAppArmor(i), (i.config.security.apparmor = { type: 'Localhost', localhostRef: 'my-app' })), expect: profile('my-app') },
  { name: 'AppArmor host, Unconfined: no profile', patch: (i) => (withAppArmor(i), (i.config.security.apparmor = { type: 'Unconfined' })), expect: noProfile },
  { name: 'AppArmor host, privileged: no profile', patch: (i) => (withAppArmor(i), privileged(i)), expect: noProfile },
  { name: 'AppArmor host, privileged + Localhost: no profile', patch: (i) => (withAppArmor(i), privileged(i), (i.config.security.apparmor = { type: 'Localhost', localhostRef: 'my-app' })), expect: noProfile },
  { name: 'AppArmor host, privileged + RuntimeDefault: no profile', patch: (i) => (withAppArmor(i), privileged(i), (i.config.security.apparmor = { type: 'RuntimeDefault' })), expect: noProfile },
  // a host without AppArmor (this one)
  { name: 'no AppArmor, nothing asked: no profile', patch: () => {}, expect: noProfile },
  { name: 'no AppArmor, RuntimeDefault: no profile', patch: (i) => (i.config.security.apparmor = { type: 'RuntimeDefault' }), expect: noProfile },
  { name: 'AppArmor facts say disabled, RuntimeDefault: no profile', patch: (i) => ((i.defaults.apparmor = { ...APPARMOR_HOST, enabled: false, defaultProfileLoaded: false }), (i.config.security.apparmor = { type: 'RuntimeDefault' })), expect: noProfile },
  { name: 'no AppArmor, Unconfined: no profile', patch: (i) => (i.config.security.apparmor = { type: 'Unconfined' }), expect: noProfile },
  { name: 'no AppArmor, privileged + Localhost: no profile, no error', patch: (i) => (privileged(i), (i.config.security.apparmor = { type: 'Localhost', localhostRef: 'my-app' })), expect: noProfile },
];

interface ErrorRow {
  name: string;
  patch: (i: SpecBuildInput) => void;
  error: typeof InvalidArgumentError | typeof FailedPreconditionError;
  message: RegExp;
}

const apparmorErrorRows: ErrorRow[] = [
  { name: 'no AppArmor on the host, Localhost', patch: (i) => (i.config.security.apparmor = { type: 'Localhost', localhostRef: 'my-app' }), error: FailedPreconditionError, message: /localhost\/my-app.*AppArmor is not enabled on this host/ },
  { name: 'AppArmor host whose default profile failed to load, RuntimeDefault (fails closed)', patch: (i) => (i.defaults.apparmor = { ...APPARMOR_HOST, defaultProfileLoaded: false, loadError: 'parser said no' }), error: FailedPreconditionError, message: /berth-default is not loaded \(parser said no\)/ },
  { name: 'Localhost without a name', patch: (i) => (withAppArmor(i), (i.config.security.apparmor = { type: 'Localhost', localhostRef: '' })), error: InvalidArgumentError, message: /apparmor.localhost_ref.*needs a name/ },
  { name: 'Localhost name with a newline', patch: (i) => (withAppArmor(i), (i.config.security.apparmor = { type: 'Localhost', localhostRef: 'a\nberth-default' })), error: InvalidArgumentError, message: /apparmor.localhost_ref.*whitespace or control/ },
  { name: 'Localhost name of 513 bytes', patch: (i) => (withAppArmor(i), (i.config.security.apparmor = { type: 'Localhost', localhostRef: 'p'.repeat(513) })), error: InvalidArgumentError, message: /longer than 512 bytes/ },
];

const IO_URING = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];

describe('runtime/spec security policy', () => {
  describe('privileged ignores seccomp', () => {
    for (const row of seccompRows) {
      it(row.name, () => row.expect(buildContainerSpec(specInput(row.patch), 'x64')));
    }
  });

  describe('AppArmor', () => {
    for (const row of apparmorRows) {
      it(row.name, () => row.expect(buildContainerSpec(specInput(row.patch), 'x64')));
    }
    for (const row of apparmorErrorRows) {
      it(`refuses: ${row.name}`, () => {
        let caught: unknown;
        try {
          buildContainerSpec(specInput(row.patch), 'x64');
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(row.error);
        expect((caught as Error).message).to.match(row.message);
      });
    }
  });

  describe('RuntimeDefault seccomp refuses io_uring', () => {
    const capSets: Array<[string, string[]]> = [
      ['no capabilities', []],
      ['the default capabilities', specInput().defaults.defaultCapabilities],
      ['every capability', [...ALL_LINUX_CAPABILITIES]],
    ];
    for (const arch of ['x64', 'arm64', 's390x']) {
      for (const [label, caps] of capSets) {
        it(`${arch}, ${label}: no rule names io_uring_*, so the default action (EPERM) applies`, () => {
          const profile = runtimeDefaultProfile(caps, arch);
          for (const rule of profile.syscalls ?? []) {
            for (const name of IO_URING) expect(rule.names, `rule ${rule.action}`).to.not.include(name);
          }
          expect(profile.defaultAction).to.equal('SCMP_ACT_ERRNO');
          expect(profile.defaultErrnoRet).to.equal(1);
        });
      }
    }
  });
});
