import { expect } from 'chai';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import * as path from 'node:path';
import { appArmorKernelEnabled, appArmorProfileLoaded, loadedAppArmorProfiles, setUpAppArmor, type AppArmorPaths } from './apparmor';
import type { CommandResult } from './run-command';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

const ok = (stderr = ''): CommandResult => ({ exitCode: 0, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.from(stderr), timedOut: false, stdoutTruncated: false, stderrTruncated: false });

describe('runtime/apparmor (fake sysfs)', () => {
  let dir: string;
  let paths: AppArmorPaths;
  let parser: string;
  let calls: Array<{ file: string; args: readonly string[] }>;

  /** A fake apparmor_parser: records the call, and "loads" the profile by listing it. */
  const loadingRun = async (file: string, args: readonly string[]): Promise<CommandResult> => {
    calls.push({ file, args });
    appendFileSync(paths.profiles, 'berth-default (enforce)\n');
    return ok();
  };

  tempDirEach('berth-aa-', (d) => {
    dir = d;
    mkdirSync(path.join(dir, 'sys'));
    mkdirSync(path.join(dir, 'sbin'));
    parser = path.join(dir, 'sbin', 'apparmor_parser');
    paths = { enabled: path.join(dir, 'sys', 'enabled'), profiles: path.join(dir, 'sys', 'profiles'), parsers: [path.join(dir, 'nope', 'apparmor_parser'), parser] };
    calls = [];
  });

  const hostWithAppArmor = () => {
    writeFileSync(paths.enabled, 'Y\n');
    writeFileSync(paths.profiles, '/usr/bin/man (enforce)\n');
    writeFileSync(parser, '#!/bin/sh\nexit 0\n');
    chmodSync(parser, 0o755);
  };

  it('no AppArmor module: disabled, nothing run, the default profile not loaded', async () => {
    const facts = await setUpAppArmor({ profileDir: path.join(dir, 'profiles'), paths, run: loadingRun });
    expect(facts).to.deep.equal({ enabled: false, kernelEnabled: false, defaultProfile: 'berth-default', defaultProfileLoaded: false });
    expect(calls).to.deep.equal([]);
  });

  it('the kernel switch is N: disabled', async () => {
    writeFileSync(paths.enabled, 'N\n');
    expect(await appArmorKernelEnabled(paths)).to.equal(false);
    expect((await setUpAppArmor({ profileDir: path.join(dir, 'profiles'), paths, run: loadingRun })).enabled).to.equal(false);
  });

  it('kernel on but no apparmor_parser: not enabled (nothing can load the default profile)', async () => {
    writeFileSync(paths.enabled, 'Y\n');
    const facts = await setUpAppArmor({ profileDir: path.join(dir, 'profiles'), paths, run: loadingRun });
    expect(facts).to.include({ enabled: false, kernelEnabled: true, defaultProfileLoaded: false });
    expect(calls).to.deep.equal([]);
  });

  it('AppArmor on: writes the profile and runs apparmor_parser -Kr on it; loaded once the kernel lists it', async () => {
    hostWithAppArmor();
    const profileDir = path.join(dir, 'profiles');
    const facts = await setUpAppArmor({ profileDir, paths, run: loadingRun });
    expect(facts).to.deep.equal({ enabled: true, kernelEnabled: true, parser, defaultProfile: 'berth-default', defaultProfileLoaded: true });
    const file = path.join(profileDir, 'berth-default');
    expect(calls).to.deep.equal([{ file: parser, args: ['-Kr', file] }]);
    expect(readFileSync(file, 'utf8')).to.match(/^profile berth-default flags=\(attach_disconnected,mediate_deleted\) \{$/m);
  });

  it('apparmor_parser fails: not loaded, the error carries its last stderr line', async () => {
    hostWithAppArmor();
    const facts = await setUpAppArmor({
      profileDir: path.join(dir, 'profiles'),
      paths,
      run: async () => ({ ...ok('Warning: something\nAppArmor parser error at line 3: syntax error'), exitCode: 1 }),
    });
    expect(facts).to.include({ enabled: true, defaultProfileLoaded: false });
    expect(facts.loadError).to.contain('exited with 1: AppArmor parser error at line 3: syntax error');
  });

  it('apparmor_parser succeeds but the kernel does not list the profile: not loaded', async () => {
    hostWithAppArmor();
    const facts = await setUpAppArmor({ profileDir: path.join(dir, 'profiles'), paths, run: async () => ok() });
    expect(facts.defaultProfileLoaded).to.equal(false);
    expect(facts.loadError).to.contain('is not listed');
  });

  it('a timed out apparmor_parser: not loaded', async () => {
    hostWithAppArmor();
    const facts = await setUpAppArmor({ profileDir: path.join(dir, 'profiles'), paths, run: async () => ({ ...ok(), exitCode: null, signal: 'SIGKILL', timedOut: true }) });
    expect(facts.loadError).to.contain('timed out');
  });

  it('the real runCommand path: a fake parser script that fails is reported', async () => {
    hostWithAppArmor();
    writeFileSync(parser, '#!/bin/sh\necho "cannot load $2" >&2\nexit 3\n');
    const facts = await setUpAppArmor({ profileDir: path.join(dir, 'profiles'), paths });
    expect(facts.loadError).to.match(/exited with 3: cannot load .*berth-default$/);
  });

  it('parses the kernel list: names with spaces in parentheses, paths, modes', async () => {
    writeFileSync(paths.profiles, '/usr/sbin/cupsd (enforce)\nberth-default (enforce)\nodd (name) (complain)\ncri-containerd.apparmor.d (enforce)\n\n');
    expect([...(await loadedAppArmorProfiles(paths))]).to.deep.equal(['/usr/sbin/cupsd', 'berth-default', 'odd (name)', 'cri-containerd.apparmor.d']);
    expect(await appArmorProfileLoaded('berth-default', paths)).to.equal(true);
    expect(await appArmorProfileLoaded('berth', paths)).to.equal(false);
  });

  it('no list (no securityfs): nothing is loaded', async () => {
    expect(await appArmorProfileLoaded('berth-default', paths)).to.equal(false);
  });

  it('a list beyond 4 MiB is refused rather than read whole', async () => {
    writeFileSync(paths.profiles, 'p (enforce)\n'.repeat(400_000));
    let caught: unknown;
    await loadedAppArmorProfiles(paths).catch((err: unknown) => (caught = err));
    expect(String(caught)).to.contain('more than 4194304 bytes');
  });
});
