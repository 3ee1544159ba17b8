/**
 * AppArmor on the host: detection (kernel switch + apparmor_parser), the kernel's list of loaded
 * profiles, and loading berth's default profile at daemon start. Every path is injectable so the
 * logic runs against a fake sysfs dir in tests (this kind of host often has no AppArmor at all).
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../common/errors';
import type { Logger } from '../common/logger';
import { berthDefaultAppArmorProfile } from './apparmor-profile';
import { runCommand, type CommandResult } from './run-command';
import { BERTH_DEFAULT_APPARMOR_PROFILE } from './spec/apparmor';
import type { AppArmorHostFacts } from './spec/inputs';

/** Where the host's AppArmor state is read. */
export interface AppArmorPaths {
  /** "Y" when the kernel has AppArmor on. */
  enabled: string;
  /** One loaded profile per line: "<name> (<mode>)". */
  profiles: string;
  /** apparmor_parser candidates, first executable one wins. */
  parsers: readonly string[];
}

/** The real host paths. */
const HOST_APPARMOR_PATHS: AppArmorPaths = {
  enabled: '/sys/module/apparmor/parameters/enabled',
  profiles: '/sys/kernel/security/apparmor/profiles',
  parsers: ['/sbin/apparmor_parser', '/usr/sbin/apparmor_parser'],
};

/** The profiles list is a kernel file; a host with this much policy is not one we can reason about. */
const MAX_PROFILES_BYTES = 4 * 1024 * 1024;
/** apparmor_parser compiles one small profile; 30 s covers a loaded host. */
const PARSER_TIMEOUT_MS = 30_000;

/** Reads at most `max` bytes of a file (kernel files report size 0, so no stat-based read). */
async function readCapped(file: string, max: number): Promise<string | undefined> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'EACCES') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(Math.min(max, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > max) throw new Error(`read ${file}: more than ${max} bytes`);
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** True when the kernel has AppArmor on. */
export async function appArmorKernelEnabled(paths: AppArmorPaths = HOST_APPARMOR_PATHS): Promise<boolean> {
  return ((await readCapped(paths.enabled, 16)) ?? '').trim() === 'Y';
}

/** The first executable apparmor_parser, or undefined. */
async function findAppArmorParser(paths: AppArmorPaths = HOST_APPARMOR_PATHS): Promise<string | undefined> {
  for (const candidate of paths.parsers) {
    const ok = await fs.access(candidate, fsConstants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return candidate;
  }
  return undefined;
}

/** Names of the profiles loaded in the kernel (empty when the list cannot be read). */
export async function loadedAppArmorProfiles(paths: AppArmorPaths = HOST_APPARMOR_PATHS): Promise<Set<string>> {
  const text = (await readCapped(paths.profiles, MAX_PROFILES_BYTES)) ?? '';
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    // "<name> (<mode>)"; a name may itself contain " (", so cut at the last one.
    const cut = line.lastIndexOf(' (');
    if (cut > 0) names.add(line.slice(0, cut));
  }
  return names;
}

/** True when profile `name` is loaded in the kernel. */
export async function appArmorProfileLoaded(name: string, paths: AppArmorPaths = HOST_APPARMOR_PATHS): Promise<boolean> {
  return (await loadedAppArmorProfiles(paths)).has(name);
}

/** What setUpAppArmor needs. */
export interface AppArmorSetupOptions {
  /** Where the profile text is written before apparmor_parser reads it. */
  profileDir: string;
  paths?: AppArmorPaths;
  profileName?: string;
  /** Runs apparmor_parser (tests pass a fake). */
  run?: (file: string, args: readonly string[]) => Promise<CommandResult>;
  logger?: Logger;
}

/**
 * Detects AppArmor and, when the host has it (kernel on and apparmor_parser present), writes and
 * loads berth's default profile with `apparmor_parser -Kr` (replace, no cache). A failed load is
 * reported in the result, not thrown: containers that need the profile then fail to create.
 */
export async function setUpAppArmor(opts: AppArmorSetupOptions): Promise<AppArmorHostFacts> {
  const paths = opts.paths ?? HOST_APPARMOR_PATHS;
  const defaultProfile = opts.profileName ?? BERTH_DEFAULT_APPARMOR_PROFILE;
  const kernelEnabled = await appArmorKernelEnabled(paths);
  const parser = kernelEnabled ? await findAppArmorParser(paths) : undefined;
  const status: AppArmorHostFacts = { enabled: kernelEnabled && parser !== undefined, kernelEnabled, ...(parser ? { parser } : {}), defaultProfile, defaultProfileLoaded: false };
  if (!status.enabled || !parser) return status;

  const file = path.join(opts.profileDir, defaultProfile);
  try {
    await fs.mkdir(opts.profileDir, { recursive: true, mode: 0o700 });
    await fs.writeFile(file, berthDefaultAppArmorProfile(defaultProfile), { mode: 0o600 });
    const run = opts.run ?? ((f: string, a: readonly string[]) => runCommand(f, a, { timeoutMs: PARSER_TIMEOUT_MS, maxOutputBytes: 64 * 1024 }));
    const r = await run(parser, ['-Kr', file]);
    if (r.timedOut) {
      status.loadError = `${parser} -Kr ${file} timed out`;
    } else if (r.exitCode !== 0) {
      const why = r.stderr.toString('utf8').trim().split('\n').pop()?.slice(0, 300) ?? '';
      status.loadError = `${parser} -Kr ${file} exited with ${r.exitCode ?? r.signal}${why ? `: ${why}` : ''}`;
    } else if (!(await appArmorProfileLoaded(defaultProfile, paths))) {
      status.loadError = `${defaultProfile} is not listed in ${paths.profiles} after loading`;
    } else {
      status.defaultProfileLoaded = true;
    }
  } catch (err) {
    status.loadError = `load ${file}: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (status.loadError) opts.logger?.warn('AppArmor default profile not loaded: containers asking for runtime/default will fail to create', { error: status.loadError });
  return status;
}
