/**
 * Security policy of the spec builder, table-driven: privileged containers run without seccomp
 * whatever the request names, and RuntimeDefault seccomp refuses io_uring.
 */
import { expect } from 'chai';
import { buildContainerSpec } from './build-spec';
import { ALL_LINUX_CAPABILITIES } from './capabilities';
import type { SpecBuildInput } from './inputs';
import type { OciSpec } from './oci-types';
import { runtimeDefaultProfile } from './seccomp';
import { specInput } from './spec-fixtures';

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

const IO_URING = ['io_uring_setup', 'io_uring_enter', 'io_uring_register'];

describe('runtime/spec security policy', () => {
  describe('privileged ignores seccomp', () => {
    for (const row of seccompRows) {
      it(row.name, () => row.expect(buildContainerSpec(specInput(row.patch), 'x64')));
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
