/**
 * Container security policy through a real berthd socket: a privileged container only in a
 * privileged pod; a privileged container runs without seccomp whatever profile it names; AppArmor
 * requests on a host without AppArmor.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runtime } from '../../cri/api/generated/cri';
import { CriStack, grpcRefusal } from './support/cri-stack';

const { INVALID_ARGUMENT, FAILED_PRECONDITION } = grpcStatus;
const { RuntimeDefault: RUNTIME_DEFAULT, Unconfined: UNCONFINED, Localhost: LOCALHOST } = runtime.v1.SecurityProfile.ProfileType;

describe('e2e security policy: privileged pods, seccomp and AppArmor through the berthd socket', function () {
  this.timeout(120_000);
  const stack = new CriStack('policy');
  let blocksSethostname: string;
  const pods: Record<'plain' | 'privileged', string> = { plain: '', privileged: '' };

  const podConfig = (kind: 'plain' | 'privileged') =>
    stack.podConfig(`policy-${kind}`, kind === 'privileged' ? { securityContext: { privileged: true } } : {}, path.join(stack.work, 'logs', kind));

  before(async () => {
    await stack.start({
      prepare: (work) => {
        // Allows everything but sethostname(2), which fails with EPERM.
        blocksSethostname = path.join(work, 'blocks-sethostname.json');
        fs.writeFileSync(blocksSethostname, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }));
      },
    });
    for (const kind of ['plain', 'privileged'] as const) pods[kind] = await stack.runPod(podConfig(kind));
  });

  after(() => stack.stop());

  /** CreateContainer of `script` (sh -c) in pod `kind`; `security` is the container's security context. */
  const create = (kind: 'plain' | 'privileged', script: string, security: runtime.v1.ILinuxContainerSecurityContext = {}, mounts: runtime.v1.IMount[] = []) =>
    stack.createScript(pods[kind], podConfig(kind), script, { mounts, linux: { securityContext: security } });

  /** Runs `script` to its end; returns the exit code and the log's text lines; removes the container. */
  async function run(kind: 'plain' | 'privileged', script: string, security: runtime.v1.ILinuxContainerSecurityContext = {}, mounts: runtime.v1.IMount[] = []) {
    const r = await stack.runScript(pods[kind], podConfig(kind), script, { mounts, linux: { securityContext: security } });
    return { exitCode: r.status.exitCode, lines: r.lines };
  }

  it('refuses a privileged container in a pod that is not privileged, with INVALID_ARGUMENT naming the field', async () => {
    const err = await grpcRefusal(create('plain', 'true', { privileged: true }));
    expect(err.code).to.equal(INVALID_ARGUMENT);
    expect(err.details).to.contain('linux.security_context.privileged').and.to.contain('not privileged');
    const { containers } = await stack.client.listContainers({});
    expect(containers ?? []).to.have.length(0);
  });

  it('the Localhost profile blocks sethostname for an unprivileged container (with CAP_SYS_ADMIN)', async () => {
    const r = await run('plain', 'hostname blocked-x && echo changed || echo refused', {
      capabilities: { addCapabilities: ['SYS_ADMIN'] },
      seccomp: { profileType: LOCALHOST, localhostRef: blocksSethostname },
    });
    expect(r.lines).to.include('refused');
    expect(r.lines).to.not.include('changed');
  });

  it('a privileged container in a privileged pod ignores that Localhost profile: hostname x works, no seccomp filter', async () => {
    const r = await run('privileged', 'hostname x && hostname && grep Seccomp: /proc/self/status', {
      privileged: true,
      seccomp: { profileType: LOCALHOST, localhostRef: blocksSethostname },
    });
    expect(r.exitCode, r.lines.join('\n')).to.equal(0);
    expect(r.lines).to.include('x');
    expect(r.lines).to.include('Seccomp:\t0');
  });

  it('a privileged container ignores the deprecated seccomp_profile_path too', async () => {
    const r = await run('privileged', 'hostname y && hostname', { privileged: true, seccompProfilePath: `localhost/${blocksSethostname}` });
    expect(r.exitCode, r.lines.join('\n')).to.equal(0);
    expect(r.lines).to.include('y');
  });

  it('RuntimeDefault seccomp refuses io_uring_setup with EPERM; Unconfined reaches the kernel', async () => {
    // busybox never calls io_uring: a static probe, built here, calls io_uring_setup (425 on every arch).
    const src = path.join(stack.work, 'uring.c');
    fs.writeFileSync(
      src,
      [
        '#include <errno.h>',
        '#include <stdio.h>',
        '#include <string.h>',
        '#include <sys/syscall.h>',
        '#include <unistd.h>',
        'int main(void) {',
        '  unsigned char params[120];',
        '  memset(params, 0, sizeof params);',
        '  long fd = syscall(425, 4, params);',
        '  if (fd >= 0) printf("io_uring_setup: ok\\n"); else printf("io_uring_setup: errno %d\\n", errno);',
        '  return 0;',
        '}',
        '',
      ].join('\n'),
    );
    const probe = path.join(stack.work, 'uring');
    const { execFileSync } = await import('node:child_process');
    execFileSync('gcc', ['-static', '-O2', '-o', probe, src]);
    const mounts = [{ containerPath: '/uring', hostPath: probe, readonly: true }];
    const confined = await run('plain', '/uring', { seccomp: { profileType: RUNTIME_DEFAULT } }, mounts);
    expect(confined.lines).to.deep.equal(['io_uring_setup: errno 1']);
    const unconfined = await run('plain', '/uring', { seccomp: { profileType: UNCONFINED } }, mounts);
    expect(unconfined.lines).to.deep.equal(['io_uring_setup: ok']);
  });

  describe('AppArmor on this host', () => {
    // The kernel of the machine these tests were written on has no AppArmor module; on a host
    // with AppArmor the refusals below would be about the profile not being loaded instead.
    const hostHasAppArmor = fs.existsSync('/sys/module/apparmor/parameters/enabled') && fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';

    it('verbose Status reports AppArmor as the host has it', async () => {
      const res = await stack.client.status({ verbose: true });
      const apparmor = JSON.parse(res.info?.apparmor ?? 'null');
      expect(apparmor).to.include({ kernelEnabled: hostHasAppArmor, defaultProfile: 'berth-default' });
      if (!hostHasAppArmor) expect(apparmor).to.include({ enabled: false, defaultProfileLoaded: false });
    });

    it('an explicit localhost/ profile is FAILED_PRECONDITION naming the profile (message and deprecated string)', async () => {
      const viaMessage = await grpcRefusal(create('plain', 'true', { apparmor: { profileType: LOCALHOST, localhostRef: 'berth-e2e-missing' } }));
      expect(viaMessage.code).to.equal(FAILED_PRECONDITION);
      expect(viaMessage.details).to.contain('localhost/berth-e2e-missing');
      if (!hostHasAppArmor) expect(viaMessage.details).to.contain('AppArmor is not enabled on this host');
      const viaString = await grpcRefusal(create('plain', 'true', { apparmorProfile: 'localhost/berth-e2e-missing' }));
      expect(viaString.code).to.equal(FAILED_PRECONDITION);
      expect(viaString.details).to.contain('localhost/berth-e2e-missing');
      const { containers } = await stack.client.listContainers({});
      expect(containers ?? []).to.have.length(0);
    });

    it('runtime/default and nothing run; the process is confined by berth-default exactly when the host has AppArmor', async () => {
      const want = hostHasAppArmor ? 'berth-default (enforce)' : 'none';
      for (const security of [{}, { apparmor: { profileType: RUNTIME_DEFAULT } }, { apparmorProfile: 'runtime/default' }]) {
        const r = await run('plain', 'cat /proc/self/attr/current 2>/dev/null || echo none', security);
        expect(r.exitCode).to.equal(0);
        expect(r.lines[0] === 'unconfined' ? 'none' : r.lines[0]).to.equal(want);
      }
    });

    it('a privileged container ignores a localhost/ profile even here', async () => {
      const r = await run('privileged', 'echo ran', { privileged: true, apparmor: { profileType: LOCALHOST, localhostRef: 'berth-e2e-missing' } });
      expect(r.lines).to.include('ran');
    });
  });
});
