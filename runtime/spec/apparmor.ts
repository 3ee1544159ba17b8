/**
 * The AppArmor profile of a container (process.apparmorProfile), decided from the request and the
 * host's AppArmor facts. Pure: whether a Localhost profile is loaded is checked by the caller
 * (container-create.ts), which reads the kernel's list.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../common/errors';
import type { AppArmorHostFacts, AppArmorInput } from './inputs';

/** The name of berth's own default profile (runtime/apparmor-profile.ts writes it). */
export const BERTH_DEFAULT_APPARMOR_PROFILE = 'berth-default';

/** Longest profile name accepted (the kernel allows more; no real profile name comes near). */
const MAX_APPARMOR_PROFILE_NAME = 512;

/** Checks a Localhost profile name: non-empty, bounded, no whitespace or control characters. */
function checkAppArmorProfileName(name: string | undefined, field: string): string {
  if (!name) throw new InvalidArgumentError(`${field}: an AppArmor Localhost profile needs a name`);
  if (Buffer.byteLength(name) > MAX_APPARMOR_PROFILE_NAME) throw new InvalidArgumentError(`${field}: AppArmor profile name is longer than ${MAX_APPARMOR_PROFILE_NAME} bytes`);
  // The kernel lists profiles one per line as "<name> (<mode>)": such characters could not match.
  if (/[\s\x00-\x1f\x7f]/.test(name)) throw new InvalidArgumentError(`${field}: AppArmor profile name ${JSON.stringify(name)} has whitespace or control characters`);
  return name;
}

/**
 * The profile for process.apparmorProfile, or undefined for none. Privileged containers and
 * Unconfined get none; RuntimeDefault (also when unset) is berth's default profile where the
 * host has AppArmor and nothing where it does not; Localhost needs AppArmor on the host.
 */
export function appArmorProfile(opts: { apparmor?: AppArmorInput; privileged: boolean; host?: AppArmorHostFacts }): string | undefined {
  if (opts.privileged) return undefined;
  const host = opts.host;
  switch (opts.apparmor?.type ?? 'RuntimeDefault') {
    case 'Unconfined':
      return undefined;
    case 'Localhost': {
      const name = checkAppArmorProfileName(opts.apparmor?.localhostRef, 'linux.security_context.apparmor.localhost_ref');
      if (!host?.enabled) throw new FailedPreconditionError(`AppArmor profile localhost/${name} requested but AppArmor is not enabled on this host`);
      return name;
    }
    case 'RuntimeDefault':
      if (!host?.enabled) return undefined;
      // Fail closed: a host with AppArmor runs no container unconfined by accident.
      if (!host.defaultProfileLoaded) throw new FailedPreconditionError(`AppArmor runtime/default: berth's default profile ${host.defaultProfile} is not loaded${host.loadError ? ` (${host.loadError})` : ''}`);
      return host.defaultProfile;
  }
}
