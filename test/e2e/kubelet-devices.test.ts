/**
 * Devices and host paths as kubelet sends them, through a real berthd socket: a hostPath volume
 * whose directory does not exist yet, a CRI Device naming a directory of device nodes, and CDI
 * devices from a private spec directory.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { runtime } from '../../cri/api/generated/cri';
import { isServiceError } from '../support/cri-client';
import { CriStack } from './support/cri-stack';

describe('e2e: kubelet devices, hostPath sources and CDI', function () {
  this.timeout(120_000);
  const stack = new CriStack('devices');
  let podId = '';
  /** Host paths a test created outside `work`, removed in after(). */
  const outside: string[] = [];

  before(async () => {
    await stack.start({
      prepare: (work) => {
        // Device nodes with /dev/null's and /dev/zero's numbers, in a directory of the test's own.
        fs.mkdirSync(path.join(work, 'devdir', 'sub'), { recursive: true });
        execFileSync('mknod', ['-m', '0666', path.join(work, 'devdir', 'mynull'), 'c', '1', '3']);
        execFileSync('mknod', ['-m', '0666', path.join(work, 'devdir', 'sub', 'myzero'), 'c', '1', '5']);
        // A private CDI directory: a spec mapping the test's nodes, plus env and a read-only mount.
        fs.mkdirSync(path.join(work, 'cdi'));
        fs.mkdirSync(path.join(work, 'cdi-data'));
        fs.writeFileSync(path.join(work, 'cdi-data', 'file'), 'from-cdi\n');
        fs.writeFileSync(
          path.join(work, 'cdi', 'berth-test.yaml'),
          [
            'cdiVersion: "0.5.0"',
            'kind: berth.test/dev',
            'containerEdits:',
            '  env: [CDI_VENDOR=berth]',
            'devices:',
            '  - name: pair',
            '    containerEdits:',
            '      env: [CDI_DEVICE=pair]',
            '      deviceNodes:',
            `        - path: /dev/cdi-null`,
            `          hostPath: ${path.join(work, 'devdir', 'mynull')}`,
            `        - path: /dev/cdi-zero`,
            `          hostPath: ${path.join(work, 'devdir', 'sub', 'myzero')}`,
            '          permissions: rw',
            '      mounts:',
            `        - hostPath: ${path.join(work, 'cdi-data')}`,
            '          containerPath: /cdi-data',
            '          options: [ro, bind]',
            '',
          ].join('\n'),
        );
        // A JSON spec (0.7.0) with a createRuntime hook, run by runc on the host, and an extra group.
        fs.writeFileSync(
          path.join(work, 'cdi', 'berth-extra.json'),
          JSON.stringify({
            cdiVersion: '0.7.0',
            kind: 'berth.test/extra',
            devices: [{ name: 'hooked', containerEdits: { additionalGids: [4242], hooks: [{ hookName: 'createRuntime', path: '/bin/sh', args: ['sh', '-c', `cat > ${path.join(work, 'hook-state.json')}`], timeout: 10 }] } }],
          }),
        );
      },
      extraArgs: (work) => ['--cdi-spec-dirs', path.join(work, 'cdi')],
    });
    podId = await stack.runPod(stack.podConfig());
  });

  after(async () => {
    await stack.stop();
    for (const p of outside) fs.rmSync(p, { recursive: true, force: true });
  });

  /** Runs `script` (sh -c) to its end; returns the status and the stdout lines of the CRI log. */
  const run = (script: string, patch: Partial<runtime.v1.IContainerConfig> = {}) => stack.runScript(podId, stack.podConfig(), script, patch);

  it('a hostPath mount whose directory is missing is created (0755) and the container starts', async () => {
    // Outside the test's temp dir on purpose: the parents do not exist either.
    const top = `/tmp/berth-e2e-missing-${process.pid}-${Date.now()}`;
    outside.push(top);
    const missing = path.join(top, 'a', 'b');
    const r = await run('echo hi > /data/written && ls /data', { mounts: [{ containerPath: '/data', hostPath: missing }] });
    expect(r.status.exitCode, r.stdout.join('\n')).to.equal(0);
    expect(r.stdout).to.deep.equal(['written']);
    for (const dir of [top, path.join(top, 'a'), missing]) {
      const st = fs.statSync(dir);
      expect(st.isDirectory(), dir).to.equal(true);
      expect(st.mode & 0o777, dir).to.equal(0o755);
      expect(st.uid, dir).to.equal(0);
    }
    expect(fs.readFileSync(path.join(missing, 'written'), 'utf8')).to.equal('hi\n');
  });

  it('a hostPath with ".." components is INVALID_ARGUMENT naming mounts[i].host_path', async () => {
    const err = await stack.client
      .createContainer({
        podSandboxId: podId,
        config: { metadata: { name: 'dotdot', attempt: 0 }, image: { image: stack.image }, logPath: 'dotdot/0.log', mounts: [{ containerPath: '/x', hostPath: '/tmp' }, { containerPath: '/y', hostPath: '/tmp/../etc' }] },
        sandboxConfig: stack.podConfig(),
      })
      .then(() => undefined, (e: unknown) => e);
    expect(isServiceError(err) && err.code).to.equal(3);
    expect(String((err as Error).message)).to.contain('mounts[1].host_path: "/tmp/../etc" has ".." components');
  });

  it('a CRI Device naming a directory exposes every device node below it', async () => {
    const r = await run('ls -ln /dev/vendor /dev/vendor/sub | grep "^c"; head -c 4 /dev/vendor/sub/myzero | od -An -tx1; echo ok > /dev/vendor/mynull && echo wrote', {
      devices: [{ hostPath: path.join(stack.work, 'devdir'), containerPath: '/dev/vendor', permissions: 'rw' }],
    });
    expect(r.status.exitCode, r.stdout.join('\n')).to.equal(0);
    const nodes = r.stdout.filter((l) => l.startsWith('c')).map((l) => l.split(/\s+/).slice(4, 6).join(' ') + ' ' + l.split(/\s+/).pop());
    expect(nodes).to.deep.equal(['1, 3 mynull', '1, 5 myzero']);
    expect(r.stdout).to.include(' 00 00 00 00');
    expect(r.stdout).to.include('wrote');
  });

  it('CDI devices requested through cdi_devices: nodes, env and mount from the spec file', async () => {
    const script = 'ls -ln /dev/cdi-null /dev/cdi-zero; head -c 2 /dev/cdi-zero | od -An -tx1; echo "env $CDI_DEVICE $CDI_VENDOR"; cat /cdi-data/file; touch /cdi-data/x 2>/dev/null || echo read-only';
    const r = await run(script, { CDIDevices: [{ name: 'berth.test/dev=pair' }] });
    expect(r.status.exitCode, r.stdout.join('\n')).to.equal(0);
    const nodes = r.stdout.filter((l) => l.startsWith('c')).map((l) => `${l.split(/\s+/).slice(4, 6).join(' ')} ${l.split(/\s+/).pop()}`);
    expect(nodes).to.deep.equal(['1, 3 /dev/cdi-null', '1, 5 /dev/cdi-zero']);
    expect(r.stdout).to.include(' 00 00');
    expect(r.stdout).to.include('env pair berth');
    expect(r.stdout).to.include('from-cdi');
    expect(r.stdout).to.include('read-only');
  });

  it('CDI devices requested through a cdi.k8s.io annotation', async () => {
    const r = await run('echo "env $CDI_DEVICE"; ls /dev/cdi-null', { annotations: { 'cdi.k8s.io/berth-e2e': 'berth.test/dev=pair' } });
    expect(r.status.exitCode, r.stdout.join('\n')).to.equal(0);
    expect(r.stdout).to.deep.equal(['env pair', '/dev/cdi-null']);
  });

  it('an unknown CDI device is FAILED_PRECONDITION naming it', async () => {
    const err = await stack.client
      .createContainer({
        podSandboxId: podId,
        config: { metadata: { name: 'unknown-cdi', attempt: 0 }, image: { image: stack.image }, logPath: 'unknown-cdi/0.log', CDIDevices: [{ name: 'berth.test/dev=x' }] },
        sandboxConfig: stack.podConfig(),
      })
      .then(() => undefined, (e: unknown) => e);
    expect(isServiceError(err) && err.code).to.equal(9);
    expect(String((err as Error).message)).to.contain('cdi_devices[0]: unknown CDI device "berth.test/dev=x"');
  });

  it('CDI hooks run on the host with the container state, and additionalGids reach the process', async () => {
    const r = await run('id -G', { CDIDevices: [{ name: 'berth.test/extra=hooked' }] });
    expect(r.status.exitCode, r.stdout.join('\n')).to.equal(0);
    expect(r.stdout[0].split(' ')).to.include('4242');
    const state = JSON.parse(fs.readFileSync(path.join(stack.work, 'hook-state.json'), 'utf8')) as { id?: string; bundle?: string };
    expect(state.id).to.match(/^[0-9a-f]{64}$/);
    expect(state.bundle).to.be.a('string');
  });
});
