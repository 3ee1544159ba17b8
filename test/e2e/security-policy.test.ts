/**
 * Container security policy through a real berthd socket: a privileged container only in a
 * privileged pod; a privileged container runs without seccomp whatever profile it names; AppArmor
 * requests on a host without AppArmor.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { runtime } from '../../cri/api/generated/cri';
import { isServiceError, type CriClient } from '../support/cri-client';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { startRegistry, type TestRegistry } from './support/registry';
import { busyboxImage, pushImage } from './support/test-images';

const EXITED = 2;
const INVALID_ARGUMENT = 3;
const LOCALHOST = 2;

describe('e2e security policy: privileged pods, seccomp and AppArmor through the berthd socket', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let berthd: BerthdInstance;
  let client: CriClient;
  let work: string;
  let image: string;
  let blocksSethostname: string;
  const pods: Record<'plain' | 'privileged', string> = { plain: '', privileged: '' };
  let seq = 0;

  const podConfig = (kind: 'plain' | 'privileged') => ({
    metadata: { name: `policy-${kind}`, namespace: 'e2e', uid: `uid-policy-${kind}-${process.pid}`, attempt: 0 },
    hostname: `policy-${kind}`,
    logDirectory: path.join(work, 'logs', kind),
    linux: kind === 'privileged' ? { securityContext: { privileged: true } } : {},
  });

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-policy-'));
    fs.mkdirSync(path.join(work, 'logs'));
    // Allows everything but sethostname(2), which fails with EPERM.
    blocksSethostname = path.join(work, 'blocks-sethostname.json');
    fs.writeFileSync(blocksSethostname, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }));
    registry = await startRegistry();
    await pushImage(registry.host, 'e2e/busybox', 'p', await busyboxImage());
    image = `${registry.host}/e2e/busybox:p`;
    const registriesConf = path.join(work, 'registries.conf');
    fs.writeFileSync(registriesConf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
    berthd = await startBerthd({ name: 'berth-policy', extraArgs: ['--registries-config', registriesConf] });
    client = berthd.client();
    await client.pullImage({ image: { image } });
    for (const kind of ['plain', 'privileged'] as const) pods[kind] = (await client.runPodSandbox({ config: podConfig(kind) })).podSandboxId ?? '';
  });

  after(async () => {
    for (const podSandboxId of Object.values(pods)) {
      if (!client || !podSandboxId) continue;
      await client.stopPodSandbox({ podSandboxId }).catch(() => undefined);
      await client.removePodSandbox({ podSandboxId }).catch(() => undefined);
    }
    await berthd?.cleanup();
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** CreateContainer of `script` (sh -c) in pod `kind`; `security` is the container's security context. */
  async function create(kind: 'plain' | 'privileged', script: string, security: runtime.v1.ILinuxContainerSecurityContext = {}): Promise<string> {
    const name = `c${++seq}`;
    const { containerId } = await client.createContainer({
      podSandboxId: pods[kind],
      config: { metadata: { name, attempt: 0 }, image: { image }, command: ['sh', '-c', script], logPath: `${name}/0.log`, linux: { securityContext: security } },
      sandboxConfig: podConfig(kind),
    });
    return containerId ?? '';
  }

  /** Runs `script` to its end; returns the exit code and the log's text lines; removes the container. */
  async function run(kind: 'plain' | 'privileged', script: string, security: runtime.v1.ILinuxContainerSecurityContext = {}) {
    const containerId = await create(kind, script, security);
    try {
      await client.startContainer({ containerId });
      for (let i = 0; i < 300; i++) {
        const { status } = await client.containerStatus({ containerId });
        if (status?.state === EXITED) {
          const lines = fs
            .readFileSync(status.logPath ?? '', 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(' ').slice(3).join(' '));
          return { exitCode: status.exitCode, lines };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`container ${containerId} did not exit`);
    } finally {
      await client.removeContainer({ containerId });
    }
  }

  async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isServiceError(err)) throw new Error(`expected a gRPC error, got ${String(err)}`);
    return { code: err.code, details: err.details };
  }

  it('refuses a privileged container in a pod that is not privileged, with INVALID_ARGUMENT naming the field', async () => {
    const err = await refusal(create('plain', 'true', { privileged: true }));
    expect(err.code).to.equal(INVALID_ARGUMENT);
    expect(err.details).to.contain('linux.security_context.privileged').and.to.contain('not privileged');
    const { containers } = await client.listContainers({});
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
});
