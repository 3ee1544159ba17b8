/**
 * The pause process as seen from a hostile container of its own pod. In a pod that shares its PID
 * namespace, pause is PID 1 of every container; /proc/1/{root,cwd,fd,environ,mem,exe} must lead
 * nowhere (pause is not dumpable, lives in its own mount namespace rooted at an empty read-only
 * tmpfs). On the host: pause runs under a seccomp filter with no_new_privs and no capabilities,
 * in a mount namespace of its own whose root is empty, in a cgroup that allows no device.
 * Real PodManager (pause, CNI) + ContainerManager (runc, conmon) on the busybox test rootfs.
 */
import { expect } from 'chai';
import { promises as fs, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describeError, errorKindOf } from '../../common/errors';
import { NamespaceMode } from '../../pod/types';
import type { ContainerManager } from '../../runtime/container-manager';
import type { ContainerConfigInput, ContainerSecurityInput } from '../../runtime/spec/inputs';
import { containerConfigInput } from '../../runtime/testing/spec-fixtures';
import { CLEAN, createPodEnv, destroyPodEnv, leftovers, podConfig, type PodEnv } from './pod-support';
import { sh } from './runtime-support';
import { openPodContainers, removeContainersAndMounts, type PodContainers } from './support/pod-containers';
import { procStatus } from './support/wait';

/** Top-level names of the host's / that must never show through pause. */
const HOST_NAMES = readdirSync('/').filter((n) => ['etc', 'usr', 'proc', 'root', 'home', 'var', 'sys'].includes(n));

describe('e2e security: a container cannot reach the host through the pod pause process', function () {
  this.timeout(90_000);
  let podEnv: PodEnv | undefined;
  let parts: PodContainers | undefined;
  let manager: ContainerManager | undefined;
  let podId: string;
  let pausePid: number;
  const containers: Record<'user' | 'root', string> = { user: '', root: '' };

  const config = (name: string, security: ContainerSecurityInput): ContainerConfigInput => containerConfigInput(name, { command: ['sleep', '3600'], security });

  before(async () => {
    podEnv = await createPodEnv();
    parts = await openPodContainers(podEnv);
    manager = parts.manager;
    const m = manager;

    podId = await podEnv.pods.runPodSandbox(
      podConfig(`secpause-${podEnv.names.suffix}`, { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.POD } } } }),
      '',
    );
    pausePid = podEnv.pods.podSandboxStatus(podId).verbose.pausePid!;
    podEnv.pausePids.add(pausePid);
    containers.user = await m.createContainer(podId, config('as-65535', { pidMode: 'POD', runAsUser: 65535, runAsGroup: 65535 }));
    containers.root = await m.createContainer(podId, config('as-root', { pidMode: 'POD' }));
    await m.startContainer(containers.user);
    await m.startContainer(containers.root);
  });

  after(async () => {
    await removeContainersAndMounts(parts);
    await destroyPodEnv(podEnv);
  });

  /** Runs `script` in the container; stdout and stderr together, then "rc=<exit code>". */
  async function inside(who: 'user' | 'root', script: string): Promise<string> {
    const r = await manager!.execSync(containers[who], ['sh', '-c', `${script} 2>&1; echo rc=$?`], 10);
    return r.stdout.toString() + r.stderr.toString();
  }

  for (const who of ['user', 'root'] as const) {
    describe(`a container running as ${who === 'user' ? '65535:65535 (the uid of pause)' : 'root with the default capabilities'}`, () => {
      it('sees pause as its PID 1, its command line naming no host path', async () => {
        expect(await inside(who, 'head -n 1 /proc/1/status')).to.equal('Name:\tpause\nrc=0\n');
        expect(await inside(who, 'cat /proc/1/cmdline')).to.equal('pause\0rc=0\n');
      });

      it('cannot list /proc/1/root or /proc/1/cwd', async () => {
        for (const dir of ['root', 'cwd']) {
          const out = await inside(who, `ls -a /proc/1/${dir}/`);
          console.log(`      [${who}] ls -a /proc/1/${dir}/ -> ${JSON.stringify(out)}`);
          for (const name of HOST_NAMES) expect(out.split(/\s+/), `host's /${name} through /proc/1/${dir}`).to.not.include(name);
          expect(out).to.equal(`ls: /proc/1/${dir}/: Permission denied\nrc=1\n`);
        }
      });

      it("cannot open pause's file descriptors through /proc/1/fd", async () => {
        const listing = await inside(who, 'ls -a /proc/1/fd/');
        const link = await inside(who, 'readlink /proc/1/fd/1');
        const read = await inside(who, 'cat /proc/1/fd/0');
        console.log(`      [${who}] ls -a /proc/1/fd/ -> ${JSON.stringify(listing)}, readlink fd/1 -> ${JSON.stringify(link)}`);
        // Root's CAP_DAC_READ_SEARCH lists the numbers of the (root-owned) directory; nothing more.
        expect(listing).to.equal(who === 'user' ? "ls: can't open '/proc/1/fd/': Permission denied\nrc=1\n" : '.\n..\n0\n1\n2\nrc=0\n');
        expect(link).to.equal('rc=1\n');
        expect(read).to.equal("cat: can't open '/proc/1/fd/0': Permission denied\nrc=1\n");
      });

      it('cannot read /proc/1/environ, /proc/1/mem or /proc/1/exe (all need ptrace access)', async () => {
        const environ = await inside(who, 'cat /proc/1/environ');
        const mem = await inside(who, 'dd if=/proc/1/mem bs=1 count=1 skip=4194304');
        const exe = await inside(who, 'readlink /proc/1/exe');
        console.log(`      [${who}] environ -> ${JSON.stringify(environ)}, mem -> ${JSON.stringify(mem)}, exe -> ${JSON.stringify(exe)}`);
        expect(environ).to.equal("cat: can't open '/proc/1/environ': Permission denied\nrc=1\n");
        expect(mem).to.equal("dd: can't open '/proc/1/mem': Permission denied\nrc=1\n");
        expect(exe).to.equal('rc=1\n');
      });
    });
  }

  describe('on the host', () => {
    it('pause has seccomp, no_new_privs, no capabilities and is not dumpable', () => {
      const fields = procStatus(pausePid);
      expect(fields.get('Seccomp')).to.equal('2');
      expect(fields.get('NoNewPrivs')).to.equal('1');
      for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(fields.get(cap), cap).to.equal('0000000000000000');
      // A non-dumpable process's /proc files belong to root.
      expect(statSync(`/proc/${pausePid}/environ`).uid).to.equal(0);
    });

    it('pause has its own mount namespace whose root is an empty read-only directory', async () => {
      expect(readlinkSync(`/proc/${pausePid}/ns/mnt`)).to.not.equal(readlinkSync('/proc/self/ns/mnt'));
      const listing = await fs.readdir(`/proc/${pausePid}/root`);
      console.log(`      ls /proc/${pausePid}/root (host root) -> ${JSON.stringify(listing)}`);
      expect(listing).to.deep.equal([]);
      const mounts = readFileSync(`/proc/${pausePid}/mountinfo`, 'utf8').trim().split('\n');
      expect(mounts).to.have.length(1);
      expect(mounts[0]).to.match(/^\d+ \d+ \d+:\d+ \/ \/ ro,nosuid,nodev,noexec,relatime - tmpfs berth-pause ro,/);
    });

    it("pause's cgroup allows no device; the containers' still do", async () => {
      const devicesPath = readFileSync(`/proc/${pausePid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.split(':')[1]?.split(',').includes('devices'));
      expect(devicesPath, 'pause is in a v1 devices cgroup').to.be.a('string');
      const dir = path.join('/sys/fs/cgroup/devices', devicesPath!.split(':').slice(2).join(':'));
      expect(dir).to.contain(podEnv!.cgroupParent);
      expect(readFileSync(path.join(dir, 'devices.list'), 'utf8')).to.equal('');
      // The v2 hierarchy of this hybrid host: a deny-all device filter on the same pod cgroup.
      const v2 = readFileSync(`/proc/${pausePid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
      expect(v2, 'pause is in the cgroup v2 hierarchy').to.be.a('string');
      const procs = path.join('/sys/fs/cgroup/unified', v2!.slice(3), 'cgroup.procs');
      const probe = await sh('/bin/sh', ['-c', `echo $$ > ${procs} && { cat /dev/null 2>&1; echo rc=$?; }`]);
      expect(probe).to.equal('cat: /dev/null: Operation not permitted\nrc=1\n');
      // The containers are not below pause's cgroup: /dev/null still works in them.
      expect(await inside('user', 'echo hi > /dev/null')).to.equal('rc=0\n');
    });
  });

  describe('a pod without a pid namespace of its own', () => {
    it("refuses a container asking for pid mode POD instead of giving it the host's", async () => {
      const other = await podEnv!.pods.runPodSandbox(
        podConfig(`nopidns-${podEnv!.names.suffix}`, { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } }),
        '',
      );
      podEnv!.pausePids.add(podEnv!.pods.podSandboxStatus(other).verbose.pausePid!);
      try {
        let caught: unknown;
        await manager!.createContainer(other, config('wants-pod-pid', { pidMode: 'POD' })).catch((err) => (caught = err));
        expect(errorKindOf(caught)).to.equal('InvalidArgument');
        expect(describeError(caught)).to.contain('linux.security_context.namespace_options.pid: POD, but pod sandbox');
        expect(manager!.listContainers({ podSandboxId: other })).to.deep.equal([]);
      } finally {
        await podEnv!.pods.removePodSandbox(other);
      }
    });
  });

  // Runs last (mocha runs the suites in order): it removes the pod.
  describe('at the end', () => {
    it('pause still reaps the orphans of the shared pid namespace, and Stop/Remove leave nothing', async () => {
      // The shell exits at once; its background sleep is re-parented to PID 1 (pause), which reaps it.
      await inside('user', 'sleep 0.3 </dev/null >/dev/null 2>&1 & exit 0');
      await new Promise((r) => setTimeout(r, 800));
      const zombies = (await inside('root', "{ grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null; }")).trim();
      expect(zombies).to.equal('rc=1');
      await podEnv!.pods.stopPodSandbox(podId);
      await podEnv!.pods.removePodSandbox(podId);
      expect(await leftovers(podEnv!)).to.deep.equal(CLEAN);
    });
  });
});
