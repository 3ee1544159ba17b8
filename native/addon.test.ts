import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  loadRawAddon,
  mountFlagBits,
  nativeBuildDirectory,
  pauseExecutablePath,
  toNativeError,
  unmountFlagBits,
  type RawAddon,
} from './addon';
import { NativeError, type PauseSpec } from './binding';

const VALID_SPEC: PauseSpec = {
  executable: '/bin/true',
  namespaces: ['uts'],
  hostname: 'h',
  uid: 65535,
  gid: 65535,
  cgroupProcs: [],
  sysctls: {},
};

/** Calls the raw addon with deliberately wrong arguments. */
function raw(): Record<keyof RawAddon, (...args: unknown[]) => unknown> {
  return loadRawAddon() as unknown as Record<keyof RawAddon, (...args: unknown[]) => unknown>;
}

describe('native/addon flag mapping and errors', () => {
  it('maps mount flags to MS_* bits', () => {
    expect(mountFlagBits([])).to.equal(0);
    expect(mountFlagBits(['rdonly', 'nosuid', 'nodev', 'noexec'])).to.equal(0xf);
    expect(mountFlagBits(['bind', 'rec'])).to.equal(0x5000);
    expect(mountFlagBits(['rprivate'])).to.equal(0x44000);
    expect(mountFlagBits(['rslave'])).to.equal(0x84000);
    expect(mountFlagBits(['rshared'])).to.equal(0x104000);
    expect(mountFlagBits(['remount', 'bind', 'rdonly'])).to.equal(0x1021);
    expect(() => mountFlagBits(['bogus' as never])).to.throw(TypeError, /unknown flag 'bogus'/);
  });

  it('maps umount2 flags', () => {
    expect(unmountFlagBits(['detach'])).to.equal(2);
    expect(unmountFlagBits(['force', 'nofollow'])).to.equal(9);
    expect(() => unmountFlagBits(['lazy' as never])).to.throw(TypeError);
  });

  it('converts addon errors to NativeError keeping code and errno', () => {
    const addonError = Object.assign(new Error('mount a on b: EPERM (Operation not permitted)'), { code: 'EPERM', errno: 1 });
    const converted = toNativeError(addonError) as NativeError;
    expect(converted).to.be.instanceOf(NativeError);
    expect(converted.code).to.equal('EPERM');
    expect(converted.errno).to.equal(1);
    expect(converted.message).to.equal(addonError.message);
    const typeError = new TypeError('mount: target must be a string');
    expect(toNativeError(typeError)).to.equal(typeError);
    expect((toNativeError('odd') as NativeError).code).to.equal('EUNKNOWN');
  });

  it('finds the build directory from BERTH_NATIVE_BUILD_DIR or the package tree', () => {
    const saved = process.env.BERTH_NATIVE_BUILD_DIR;
    try {
      process.env.BERTH_NATIVE_BUILD_DIR = '/opt/berth/native';
      expect(pauseExecutablePath()).to.equal('/opt/berth/native/pause');
      delete process.env.BERTH_NATIVE_BUILD_DIR;
      const dir = nativeBuildDirectory();
      expect(dir.endsWith(path.join('native', 'build', 'Release'))).to.equal(true);
      expect(fs.existsSync(path.join(dir, '..', '..', 'binding.gyp'))).to.equal(true);
    } finally {
      if (saved === undefined) delete process.env.BERTH_NATIVE_BUILD_DIR;
      else process.env.BERTH_NATIVE_BUILD_DIR = saved;
    }
  });
});

describe('native/addon argument checks at the C++ entry (no root needed)', () => {
  it('rejects wrong argument types with TypeErrors naming the function and argument', () => {
    const addon = raw();
    expect(() => addon.mount('a', 42, 'tmpfs', 0)).to.throw(TypeError, 'mount: target must be a string');
    expect(() => addon.mount('a', '', 'tmpfs', 0)).to.throw(TypeError, 'mount: target must not be empty');
    expect(() => addon.mount('a', '/b', 'tmpfs', 1.5)).to.throw(TypeError, /mount: flags must be an integer/);
    expect(() => addon.mount('a', '/b', 'tmpfs', 0, 7)).to.throw(TypeError, 'mount: data must be a string');
    expect(() => addon.mount('a', '/b\0c', 'tmpfs', 0)).to.throw(TypeError, /NUL/);
    expect(() => addon.umount2('/b', 'detach')).to.throw(TypeError, /umount2: flags must be a number/);
    expect(() => addon.mknod('/x', 0o20000, -1, 0)).to.throw(TypeError, /mknod: major must be an integer/);
    expect(() => addon.limitMallocArenas(0)).to.throw(TypeError, /limitMallocArenas: max must be an integer/);
    expect(() => addon.lsetxattr('/x', 'user.a', 'not a buffer')).to.throw(TypeError, 'lsetxattr: value must be a Buffer');
    expect(() => addon.lgetxattr('/x')).to.throw(TypeError, 'lgetxattr: name must be a string');
    expect(() => addon.llistxattr()).to.throw(TypeError, 'llistxattr: path must be a string');
    expect(() => addon.watchExit(0, () => undefined)).to.throw(TypeError, /watchExit: pid must be an integer/);
    expect(() => addon.watchExit(1, 'cb')).to.throw(TypeError, 'watchExit: onExit must be a function');
    expect(() => addon.connectInNetns('/ns', 'localhost', 80)).to.throw(TypeError, /IPv4 or IPv6 literal/);
    expect(() => addon.connectInNetns('/ns', '127.0.0.1', 0)).to.throw(TypeError, /port must be an integer in \[1, 65535\]/);
  });

  it('validates the pause spec before starting anything', () => {
    const addon = raw();
    expect(() => addon.startPause(undefined)).to.throw(TypeError, 'startPause: spec must be an object');
    expect(() => addon.startPause({ ...VALID_SPEC, executable: 'pause' })).to.throw(TypeError, /absolute path/);
    expect(() => addon.startPause({ ...VALID_SPEC, namespaces: ['mnt'] })).to.throw(TypeError, /'net', 'ipc', 'uts' or 'pid'/);
    expect(() => addon.startPause({ ...VALID_SPEC, uid: -1 })).to.throw(TypeError, /spec.uid must be an integer/);
    expect(() => addon.startPause({ ...VALID_SPEC, hostname: 'x'.repeat(65) })).to.throw(TypeError, /longer than 64/);
    expect(() => addon.startPause({ ...VALID_SPEC, cgroupProcs: ['relative/cgroup.procs'] })).to.throw(TypeError, /absolute/);
    expect(() => addon.startPause({ ...VALID_SPEC, sysctls: { 'net..x': '1' } })).to.throw(TypeError, /invalid sysctl name/);
    expect(() => addon.startPause({ ...VALID_SPEC, sysctls: { 'net./..x': '1' } })).to.throw(TypeError, /invalid sysctl name/);
    expect(() => addon.startPause({ ...VALID_SPEC, sysctls: { 'net.x': 1 } })).to.throw(TypeError, /string value/);
    expect(() => addon.startPause({ ...VALID_SPEC, logFile: 'pause.log' })).to.throw(TypeError, /logFile must be an absolute/);
    expect(() => addon.startPause({ ...VALID_SPEC, netns: 'ns/net' })).to.throw(TypeError, /netns must be an absolute path/);
    expect(() => addon.startPause({ ...VALID_SPEC, namespaces: ['net'], netns: '/run/ns/net/x' })).to.throw(TypeError, /exclude each other/);
    const maps = { uids: [{ containerId: 0, hostId: 100000, length: 65536 }], gids: [{ containerId: 0, hostId: 100000, length: 65536 }] };
    expect(() => addon.startPause({ ...VALID_SPEC, namespaces: [], netns: '/run/ns/net/x', userNamespace: maps })).to.throw(TypeError, /cannot be combined/);
    expect(() => addon.createNetns('relative')).to.throw(TypeError, 'createNetns: pinPath must be an absolute path');
  });

  it('rejects a failing syscall with code, errno, and the operation and path in the message', async () => {
    const missing = path.join(os.tmpdir(), `berth-native-missing-${process.pid}-${Date.now()}`, 'f');
    try {
      await loadRawAddon().llistxattr(missing);
      expect.fail('llistxattr of a missing path resolved');
    } catch (error) {
      const converted = toNativeError(error) as NativeError;
      expect(converted.code).to.equal('ENOENT');
      expect(converted.errno).to.equal(2);
      expect(converted.message).to.contain(`llistxattr ${missing}: ENOENT`);
    }
  });

  it('throws ESRCH synchronously from watchExit for a pid that does not exist', () => {
    // pid_max is at most 2^22; this pid can never exist.
    expect(() => loadRawAddon().watchExit(0x7ffffff0, () => undefined))
      .to.throw(Error)
      .with.property('code', 'ESRCH');
  });
});

describe('native/addon reduceMemory', () => {
  it('shrinks a heap that garbage made grow', () => {
    let garbage: object[] | undefined = [];
    for (let i = 0; i < 400_000; i++) garbage.push({ i, s: `item-${i}` });
    garbage = undefined;
    const before = process.memoryUsage().heapTotal;
    loadRawAddon().reduceMemory();
    const after = process.memoryUsage().heapTotal;
    expect(after).to.be.lessThan(before);
  });
});
