/**
 * CreateContainer's security policy through the manager (fakes): a privileged container needs a
 * privileged pod; a privileged container never loads or applies a Localhost seccomp profile;
 * AppArmor Localhost profiles must be loaded, and need AppArmor on the host.
 */
import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { errorKindOf } from '../common/errors';
import { ContainerManager } from './container-manager';
import type { AppArmorHostFacts } from './spec/inputs';
import { specInput } from './testing/spec-fixtures';
import { FakeSandboxes } from './testing/fake-sandboxes';
import { fakeManagerOptions, managerFakes, shContainerConfig } from './testing/container-manager-fixtures';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

/** The message of an error and its causes. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(': ');
}

describe('runtime/ContainerManager security policy (fakes)', () => {
  let dir: string;
  let sandboxes: FakeSandboxes;
  let native: FakeNativeBinding;
  let manager: ContainerManager;
  let seccompLoads: string[];

  const config = shContainerConfig;
  const spec = (id: string) => JSON.parse(readFileSync(path.join(dir, 'containers', id, 'bundle', 'config.json'), 'utf8'));

  let apparmorLookups: string[];

  async function open(apparmor?: AppArmorHostFacts): Promise<ContainerManager> {
    const fakes = { ...managerFakes(dir, { repoDigests: [] }), sandboxes, native };
    return ContainerManager.open({
      ...fakeManagerOptions(dir, fakes),
      specDefaults: { ...specInput().defaults, ...(apparmor ? { apparmor } : {}) },
      killWaitMs: undefined,
      createDeps: {
        loadSeccompProfile: async (ref) => {
          seccompLoads.push(ref);
          return { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO' }] };
        },
        appArmorProfileLoaded: async (name) => {
          apparmorLookups.push(name);
          return name === 'loaded-one';
        },
      },
    });
  }

  tempDirEach('berth-sec-', async (d) => {
    dir = d;
    apparmorLookups = [];
    sandboxes = new FakeSandboxes();
    sandboxes.add({ id: 'plain' }, path.join(dir, 'logs'));
    sandboxes.add({ id: 'priv', config: { hostname: 'h', linux: { securityContext: { privileged: true } } } }, path.join(dir, 'logs'));
    native = new FakeNativeBinding();
    seccompLoads = [];
    manager = await open();
  });
  afterEach(() => manager.close());

  it('refuses a privileged container in a pod that is not privileged: InvalidArgument naming linux.security_context.privileged, nothing mounted', async () => {
    const err = await rejection(manager.createContainer('plain', config({ security: { privileged: true } })));
    expect(errorKindOf(err)).to.equal('InvalidArgument');
    expect(messages(err)).to.contain('linux.security_context.privileged').and.to.contain('not privileged');
    expect(native.calls).to.deep.equal([]);
    expect(manager.listContainers()).to.have.length(0);
  });

  it('accepts a privileged container in a privileged pod (every capability, no masked paths)', async () => {
    const id = await manager.createContainer('priv', config({ security: { privileged: true } }));
    expect(spec(id).linux.maskedPaths).to.deep.equal([]);
  });

  it('an unprivileged container in a privileged pod stays unprivileged', async () => {
    const id = await manager.createContainer('priv', config());
    expect(spec(id).linux.maskedPaths.length).to.be.greaterThan(0);
  });

  it('privileged + Localhost seccomp: the profile is neither read nor applied', async () => {
    const id = await manager.createContainer('priv', config({ security: { privileged: true, seccomp: { type: 'Localhost', localhostRef: '/etc/berth/blocks-sethostname.json' } } }));
    expect(seccompLoads).to.deep.equal([]);
    expect(spec(id).linux).to.not.have.property('seccomp');
  });

  it('unprivileged + Localhost seccomp: the profile is read and applied', async () => {
    const id = await manager.createContainer('plain', config({ security: { seccomp: { type: 'Localhost', localhostRef: '/etc/berth/blocks-sethostname.json' } } }));
    expect(seccompLoads).to.deep.equal(['/etc/berth/blocks-sethostname.json']);
    expect(spec(id).linux.seccomp.syscalls[0].names).to.deep.equal(['sethostname']);
  });

  describe('AppArmor', () => {
    const host: AppArmorHostFacts = { enabled: true, defaultProfile: 'berth-default', defaultProfileLoaded: true };
    const reopen = async (facts?: AppArmorHostFacts) => {
      manager.close();
      manager = await open(facts);
    };

    it('no AppArmor on the host: Localhost is FailedPrecondition before anything is mounted', async () => {
      const err = await rejection(manager.createContainer('plain', config({ security: { apparmor: { type: 'Localhost', localhostRef: 'loaded-one' } } })));
      expect(errorKindOf(err)).to.equal('FailedPrecondition');
      expect(messages(err)).to.contain('localhost/loaded-one').and.to.contain('AppArmor is not enabled on this host');
      expect(native.calls).to.deep.equal([]);
    });

    it('no AppArmor on the host: RuntimeDefault and nothing create without a profile', async () => {
      for (const security of [{}, { apparmor: { type: 'RuntimeDefault' as const } }]) {
        const id = await manager.createContainer('plain', config({ name: `rd${Object.keys(security).length}`, security }));
        expect(spec(id).process).to.not.have.property('apparmorProfile');
      }
    });

    it('AppArmor host: a loaded Localhost profile is applied', async () => {
      await reopen(host);
      const id = await manager.createContainer('plain', config({ security: { apparmor: { type: 'Localhost', localhostRef: 'loaded-one' } } }));
      expect(spec(id).process.apparmorProfile).to.equal('loaded-one');
      expect(apparmorLookups).to.deep.equal(['loaded-one']);
    });

    it('AppArmor host: a Localhost profile that is not loaded is FailedPrecondition naming it, nothing mounted', async () => {
      await reopen(host);
      const err = await rejection(manager.createContainer('plain', config({ security: { apparmor: { type: 'Localhost', localhostRef: 'never-loaded' } } })));
      expect(errorKindOf(err)).to.equal('FailedPrecondition');
      expect(messages(err)).to.contain('localhost/never-loaded is not loaded');
      expect(native.calls).to.deep.equal([]);
    });

    it('AppArmor host: the default is berth-default; Unconfined has none', async () => {
      await reopen(host);
      const byDefault = await manager.createContainer('plain', config({ name: 'dflt' }));
      expect(spec(byDefault).process.apparmorProfile).to.equal('berth-default');
      const unconfined = await manager.createContainer('plain', config({ name: 'unc', security: { apparmor: { type: 'Unconfined' } } }));
      expect(spec(unconfined).process).to.not.have.property('apparmorProfile');
      expect(apparmorLookups).to.deep.equal([]);
    });

    it('AppArmor host: privileged ignores a Localhost profile, loaded or not (not even looked up)', async () => {
      await reopen(host);
      const id = await manager.createContainer('priv', config({ security: { privileged: true, apparmor: { type: 'Localhost', localhostRef: 'never-loaded' } } }));
      expect(spec(id).process).to.not.have.property('apparmorProfile');
      expect(apparmorLookups).to.deep.equal([]);
    });

    it('reports the host facts it was opened with', async () => {
      expect(manager.appArmorStatus()).to.equal(undefined);
      await reopen(host);
      expect(manager.appArmorStatus()).to.deep.equal(host);
    });
  });
});
