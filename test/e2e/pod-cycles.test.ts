/**
 * Leak checks with the real addon and plugins: 50 run/stop/remove cycles leave no mount, netns
 * pin, IP allocation, cgroup or pause process behind; a CNI plugin that fails rolls a pod back.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeError } from '../../common/errors';
import { CLEAN, createPodEnv, destroyPodEnv, leftovers, PodEnv, podConfig } from './pod-support';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('e2e: pod lifecycle leaks', function () {
  this.timeout(180_000);

  describe('50 run/stop/remove cycles', () => {
    let env: PodEnv;
    before(async () => {
      env = await createPodEnv();
    });
    after(() => destroyPodEnv(env));

    it('leaves no mount, pin, IP, cgroup, state or pause process', async () => {
      const runMs: number[] = [];
      const stopMs: number[] = [];
      const removeMs: number[] = [];
      for (let i = 0; i < 50; i++) {
        let t = performance.now();
        const id = await env.pods.runPodSandbox(podConfig(`cycle-${env.names.suffix}-${i}`, { portMappings: [{ containerPort: 80, hostPort: 31000 + i }] }), '');
        runMs.push(performance.now() - t);
        env.pausePids.add(env.pods.podSandboxStatus(id).verbose.pausePid!);
        t = performance.now();
        await env.pods.stopPodSandbox(id);
        stopMs.push(performance.now() - t);
        t = performance.now();
        await env.pods.removePodSandbox(id);
        removeMs.push(performance.now() - t);
      }
      expect(env.pausePids.size).to.equal(50);
      expect(await leftovers(env)).to.deep.equal(CLEAN);
      expect(env.pods.listPodSandboxes()).to.deep.equal([]);
      console.log(`      medians over 50 cycles: run ${median(runMs).toFixed(1)} ms, stop ${median(stopMs).toFixed(1)} ms, remove ${median(removeMs).toFixed(1)} ms`);
    });
  });

  describe('a failing CNI plugin', () => {
    let env: PodEnv;
    let pluginDir: string;
    before(async () => {
      pluginDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-pod-e2e-plugin-'));
      // Fails ADD after the bridge plugin before it allocated an IP; DEL succeeds (as CNI requires).
      await fs.writeFile(
        path.join(pluginDir, 'berth-fail'),
        '#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then echo \'{"cniVersion":"1.0.0","code":999,"msg":"injected failure"}\'; exit 1; fi\nexit 0\n',
        { mode: 0o755 },
      );
      env = await createPodEnv({
        pluginDirsFirst: [pluginDir],
        conflist: (names, ipamDir) => ({
          cniVersion: '1.0.0',
          name: names.network,
          plugins: [
            {
              type: 'bridge',
              bridge: names.bridge,
              isGateway: true,
              ipam: { type: 'host-local', ranges: [[{ subnet: names.subnet }]], dataDir: ipamDir },
            },
            { type: 'berth-fail' },
          ],
        }),
      });
    });
    after(async () => {
      await destroyPodEnv(env);
      await fs.rm(pluginDir, { recursive: true, force: true });
    });

    it('fails RunPodSandbox and rolls everything back, and frees the name', async () => {
      const config = podConfig(`fail-${env.names.suffix}`);
      let caught: unknown;
      await env.pods.runPodSandbox(config, '').catch((err) => (caught = err));
      expect(caught).to.be.instanceOf(Error);
      expect(describeError(caught)).to.match(/injected failure|berth-fail/);
      expect(await leftovers(env)).to.deep.equal(CLEAN);
      expect(env.pods.listPodSandboxes()).to.deep.equal([]);
      // A second attempt runs again (the name was released) and fails the same clean way.
      caught = undefined;
      await env.pods.runPodSandbox(config, '').catch((err) => (caught = err));
      expect(caught).to.be.instanceOf(Error);
      expect(await leftovers(env)).to.deep.equal(CLEAN);
    });
  });
});
