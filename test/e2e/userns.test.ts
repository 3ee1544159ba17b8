/**
 * User namespaces against the kernel as root. Native layer: pause started in a new user
 * namespace (owning its net/ipc/uts/pid/mount namespaces) with the pod's maps, running as the
 * pod's 65535 (host id base + 65535) without capabilities, its hostname and sysctls applied; its
 * user namespace pinned beyond its life; idmapMount showing files owned by host root as the
 * mapped root. Every pause, pin, mount, cgroup and temp dir is removed in after hooks.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CleanupStack } from '../../common/cleanup-stack';
import { loadNativeBinding, pauseExecutablePath } from '../../native/addon';
import { idmappedLayersDir, mountIdmappedRootfs } from '../../runtime/idmapped-rootfs';
import { type NativeBinding, type PauseSpec, type UserNamespaceMaps } from '../../native/binding';
import { procStatus, sleep, waitFor } from './support/wait';
import { rejection } from '../../common/testing/rejection-fixtures';

const BASE = 0x7a0000; // 7995392: 65536-aligned, far from any id this host uses
const maps = (base: number): UserNamespaceMaps => ({ uids: [{ containerId: 0, hostId: base, length: 65536 }], gids: [{ containerId: 0, hostId: base, length: 65536 }] });

function gone(pid: number): boolean {
  try {
    return procStatus(pid).get('State')?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

describe('user namespaces (e2e, root): native pause and idmapped mounts', function () {
  let native: NativeBinding;
  let tmp: string;
  const pids = new Set<number>();
  const mounts: string[] = [];
  let cgroupDir: string | undefined;
  const stacks: CleanupStack[] = [];

  before(function () {
    expect(process.getuid?.(), 'these tests need root').to.equal(0);
    native = loadNativeBinding();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-userns-'));
  });

  after(async () => {
    for (const stack of stacks) await stack.unwind();
    for (const target of mounts.reverse()) await native.unmount(target, ['detach']).catch(() => undefined);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of pids) await waitFor(() => gone(pid), `pause ${pid} gone`).catch(() => undefined);
    if (cgroupDir) {
      await waitFor(() => fs.readFileSync(path.join(cgroupDir!, 'cgroup.procs'), 'utf8').trim() === '', 'cgroup empty').catch(() => undefined);
      fs.rmdirSync(cgroupDir);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function spec(overrides: Partial<PauseSpec> = {}): PauseSpec {
    return {
      executable: pauseExecutablePath(),
      namespaces: ['net', 'ipc', 'uts', 'pid'],
      hostname: 'userns-pod',
      uid: 65535,
      gid: 65535,
      cgroupProcs: [],
      sysctls: {},
      userNamespace: maps(BASE),
      ...overrides,
    };
  }

  async function start(overrides: Partial<PauseSpec> = {}): Promise<number> {
    const { pid } = await native.startPause(spec(overrides));
    pids.add(pid);
    return pid;
  }

  it('starts pause in a new user namespace with the maps, as the mapped 65535, without capabilities', async () => {
    const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    cgroupDir = path.join(v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids', `berth-userns-test-${process.pid}`);
    fs.mkdirSync(cgroupDir);
    const pid = await start({
      cgroupProcs: [path.join(cgroupDir, 'cgroup.procs')],
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shmmni': '1234' },
      logFile: path.join(tmp, 'pause.log'),
    });
    const st = procStatus(pid);
    const mapped = String(BASE + 65535);
    expect(st.get('Uid')?.split(/\s+/), 'host view of its uids').to.deep.equal([mapped, mapped, mapped, mapped]);
    expect(st.get('Gid')?.split(/\s+/)).to.deep.equal([mapped, mapped, mapped, mapped]);
    expect(st.get('CapEff')).to.equal('0000000000000000');
    expect(st.get('CapBnd')).to.equal('0000000000000000');
    expect(st.get('NoNewPrivs')).to.equal('1');
    expect(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/)).to.deep.equal(['0', String(BASE), '65536']);
    expect(fs.readFileSync(`/proc/${pid}/gid_map`, 'utf8').trim().split(/\s+/)).to.deep.equal(['0', String(BASE), '65536']);
    expect(fs.readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim(), 'containers joining it may set their groups').to.equal('allow');
    expect(fs.readlinkSync(`/proc/${pid}/ns/user`)).to.not.equal(fs.readlinkSync('/proc/self/ns/user'));
    // Hostname and sysctls were applied inside the pod's namespaces, the cgroup joined on the host.
    expect(execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname']).toString().trim()).to.equal('userns-pod');
    expect(execFileSync('nsenter', ['-t', String(pid), '-n', 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']).toString().trim()).to.equal('0');
    expect(execFileSync('nsenter', ['-t', String(pid), '-i', 'cat', '/proc/sys/kernel/shmmni']).toString().trim()).to.equal('1234');
    expect(fs.readFileSync(path.join(cgroupDir, 'cgroup.procs'), 'utf8').trim()).to.equal(String(pid));
    expect(fs.statSync(path.join(tmp, 'pause.log')).uid, 'the log file is created on the host as host root').to.equal(0);
    // Inside its user namespace pause is the pod's 65535: `nsenter -U` shows the inside view.
    expect(execFileSync('nsenter', ['-t', String(pid), '-U', '--preserve-credentials', 'cat', `/proc/${pid}/status`]).toString()).to.match(/\nUid:\s+65535\s/);
  });

  it('refuses a map the kernel rejects, naming the step, and leaves no process behind', async () => {
    const before = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
    // Overlapping ranges: the kernel refuses the uid_map write.
    const overlapping: UserNamespaceMaps = { uids: [{ containerId: 0, hostId: BASE, length: 65536 }, { containerId: 10, hostId: BASE * 2, length: 10 }], gids: maps(BASE).gids };
    const caught = await rejection(start({ userNamespace: overlapping }));
    expect(caught).to.be.instanceOf(Error);
    expect((caught as Error).message).to.match(/start pause: write pause's uid_map/);
    await sleep(100);
    const after = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
    expect(after).to.be.at.most(before + 2);
  });

  it('refuses malformed maps at the entry with a TypeError', async () => {
    for (const bad of [
      { uids: [], gids: maps(BASE).gids },
      { uids: [{ containerId: 0, hostId: -1, length: 65536 }], gids: maps(BASE).gids },
      { uids: [{ containerId: 0, hostId: 0xffff0000, length: 65536 }], gids: maps(BASE).gids },
    ]) {
      const caught = await native.startPause(spec({ userNamespace: bad as UserNamespaceMaps })).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(caught).to.be.instanceOf(TypeError);
      expect((caught as Error).message).to.match(/spec\.userNamespace\.uids/);
    }
  });

  it('idmapMount shows host-root files as the mapped root, through maps or a pinned pause namespace', async () => {
    const src = path.join(tmp, 'layer');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'root-file'), 'x');
    fs.chownSync(path.join(src, 'root-file'), 0, 0);
    fs.writeFileSync(path.join(src, 'user-file'), 'y');
    fs.chownSync(path.join(src, 'user-file'), 1000, 1000);

    const byMaps = path.join(tmp, 'by-maps');
    fs.mkdirSync(byMaps);
    await native.idmapMount(src, byMaps, maps(BASE), true);
    mounts.push(byMaps);
    expect(fs.statSync(path.join(byMaps, 'root-file')).uid).to.equal(BASE);
    expect(fs.statSync(path.join(byMaps, 'user-file')).gid).to.equal(BASE + 1000);
    expect(() => fs.writeFileSync(path.join(byMaps, 'new'), 'z')).to.throw(/EROFS/);
    expect(fs.statSync(path.join(src, 'root-file')).uid, 'nothing chowned on disk').to.equal(0);

    // Through a pinned user namespace that outlives its pause.
    const pid = await start({ userNamespace: maps(BASE + 65536) });
    const pin = path.join(tmp, 'user-pin');
    fs.writeFileSync(pin, '');
    await native.mount(`/proc/${pid}/ns/user`, pin, 'none', ['bind']);
    mounts.unshift(pin); // unmounted last
    process.kill(pid, 'SIGKILL');
    await waitFor(() => gone(pid), 'pause gone');
    const byPin = path.join(tmp, 'by-pin');
    fs.mkdirSync(byPin);
    await native.idmapMount(src, byPin, pin);
    mounts.push(byPin);
    expect(fs.statSync(path.join(byPin, 'root-file')).uid).to.equal(BASE + 65536);
    // Host root has no id in that namespace: it cannot create files through the mount.
    expect(() => fs.writeFileSync(path.join(byPin, 'new'), 'z')).to.throw(/EOVERFLOW/);
  });

  it('an overlay of idmapped layers: image files keep their owners inside and on disk, writes of the mapped root land as its host id', async () => {
    const base = BASE + 2 * 65536;
    fs.chmodSync(tmp, 0o711); // the mapped root (no host capability) must reach the rootfs
    const layers = ['lower-top', 'lower-bottom'].map((name) => path.join(tmp, name));
    for (const dir of layers) fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(layers[1], 'etc', 'owned-by-root'), 'image\n', { mode: 0o644 });
    fs.writeFileSync(path.join(layers[0], 'etc', 'top'), 'top\n', { mode: 0o644 });
    const pid = await start({ userNamespace: maps(base) });
    const pin = path.join(tmp, 'user-pin-rootfs');
    fs.writeFileSync(pin, '');
    await native.mount(`/proc/${pid}/ns/user`, pin, 'none', ['bind']);
    mounts.unshift(pin);

    const containerDir = path.join(tmp, 'ctr');
    fs.mkdirSync(containerDir, { mode: 0o711 });
    const [rootfs, upper, work] = ['rootfs', 'upper', 'work'].map((d) => path.join(containerDir, d));
    for (const d of [rootfs, upper, work]) fs.mkdirSync(d);
    const stack = new CleanupStack();
    stacks.push(stack);
    await mountIdmappedRootfs(native, { lowerDirs: layers, containerDir, rootfs, upper, work, usernsPath: pin, root: { uid: base, gid: base } }, stack);

    expect(fs.statSync(path.join(rootfs, 'etc', 'owned-by-root')).uid, 'host view').to.equal(base);
    const inside = (script: string): string => execFileSync('nsenter', [`--user=${pin}`, 'sh', '-c', script]).toString().trim();
    expect(inside(`id -u; stat -c %u ${rootfs}/etc/owned-by-root; cat ${rootfs}/etc/top`).split('\n')).to.deep.equal(['0', '0', 'top']);
    inside(`echo new > ${rootfs}/etc/written && echo changed >> ${rootfs}/etc/owned-by-root`);
    expect(fs.statSync(path.join(upper, 'etc', 'written')).uid, 'on disk: the pod root host id').to.equal(base);
    expect(fs.statSync(path.join(upper, 'etc', 'owned-by-root')).uid, 'copied up, still root inside = base on disk').to.equal(base);
    const lower = fs.statSync(path.join(layers[1], 'etc', 'owned-by-root'));
    expect([lower.uid, fs.readFileSync(path.join(layers[1], 'etc', 'owned-by-root'), 'utf8')], 'the layer is untouched').to.deep.equal([0, 'image\n']);
    // Host root is nobody there: it cannot create files through the idmapped layers.
    expect(() => fs.writeFileSync(path.join(idmappedLayersDir(containerDir), '1', 'x'), '')).to.throw(/EROFS|EOVERFLOW/);

    const failures = await stack.unwind();
    expect(failures).to.deep.equal([]);
    const left = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(containerDir));
    expect(left, 'no idmapped layer or overlay left').to.deep.equal([]);
    expect(fs.existsSync(idmappedLayersDir(containerDir))).to.equal(false);
  });
});
