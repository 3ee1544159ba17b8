/** Process part of the spec: args, env, cwd, terminal, rlimits, oom_score_adj. Pure. */
import { InvalidArgumentError } from '../../common/errors';
import type { ContainerConfigInput, OciImageConfig, ResolvedUser, RuntimeSpecDefaults } from './inputs';
import type { OciRlimit } from './oci-types';

/**
 * The argv as Kubernetes defines it: `command` replaces the image ENTRYPOINT and drops its CMD;
 * `args` replace CMD. https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/
 */
export function mergeArgs(config: Pick<ContainerConfigInput, 'command' | 'args'>, image: OciImageConfig): string[] {
  let argv: string[];
  if (config.command.length > 0) {
    argv = [...config.command, ...config.args];
  } else {
    const entrypoint = image.Entrypoint ?? [];
    const cmd = config.args.length > 0 ? config.args : (image.Cmd ?? []);
    argv = [...entrypoint, ...cmd];
  }
  if (argv.length === 0) throw new InvalidArgumentError('no command specified: neither the config nor the image sets one');
  if (argv.some((a) => a.includes('\0'))) throw new InvalidArgumentError('config.command/args contain a NUL byte');
  return argv;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks one config env entry is what OCI's process.env (a string array) can carry: execve takes
 * NUL-terminated "KEY=VALUE" strings, so a NUL anywhere or "=" in the key would splice entries,
 * and a lone UTF-16 surrogate has no UTF-8 form for the JSON spec.
 */
function checkEnvEntry(key: string, value: string, i: number): void {
  if (key === '') throw new InvalidArgumentError(`config.envs[${i}].key: empty key`);
  if (key.includes('=') || key.includes('\0')) throw new InvalidArgumentError(`config.envs[${i}].key contains "=" or a NUL byte`);
  if (LONE_SURROGATE.test(key)) throw new InvalidArgumentError(`config.envs[${i}].key is not valid UTF-8`);
  if (value.includes('\0')) throw new InvalidArgumentError(`config.envs[${i}].value contains a NUL byte`);
  if (LONE_SURROGATE.test(value)) throw new InvalidArgumentError(`config.envs[${i}].value is not valid UTF-8`);
}

/** Image env first, then the config's (same key replaces in place), then defaults for PATH/HOSTNAME/HOME/TERM. */
export function mergeEnv(
  imageEnv: readonly string[],
  configEnv: ReadonlyArray<{ key: string; value: string }>,
  extra: { hostname: string; home?: string; tty: boolean; defaultPath: string },
): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  const set = (key: string, value: string) => {
    if (!values.has(key)) order.push(key);
    values.set(key, value);
  };
  for (const entry of imageEnv) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue; // a bare name in an image config has no value to pass on
    set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  configEnv.forEach(({ key, value }, i) => {
    checkEnvEntry(key, value, i);
    set(key, value);
  });
  const setDefault = (key: string, value: string | undefined) => {
    if (value !== undefined && !values.has(key)) set(key, value);
  };
  setDefault('PATH', extra.defaultPath);
  setDefault('HOSTNAME', extra.hostname || undefined);
  setDefault('HOME', extra.home ?? '/');
  if (extra.tty) setDefault('TERM', 'xterm');
  return order.map((k) => `${k}=${values.get(k)}`);
}

/** The working directory: config, else image, else "/"; must be absolute. */
export function workingDir(configDir: string, image: OciImageConfig): string {
  const dir = configDir || image.WorkingDir || '/';
  if (!dir.startsWith('/')) throw new InvalidArgumentError(`working_dir ${JSON.stringify(dir)} is not absolute`);
  return dir;
}

/**
 * oom_score_adj within [floor, 1000]. Some hosts deny lowering it below berthd's own value even
 * for root (containerd's restrict_oom_score_adj), so lower requests are clamped, not refused.
 */
export function clampOomScoreAdj(requested: number | undefined, floor: number): number | undefined {
  if (requested === undefined) return undefined;
  return Math.min(1000, Math.max(requested, floor, -1000));
}

/** The process's rlimits: the configured defaults, copied. */
export function rlimits(defaults: RuntimeSpecDefaults): OciRlimit[] {
  return defaults.rlimits.map((r) => ({ type: r.type, hard: r.hard, soft: r.soft }));
}

/**
 * The `process.user` object. additionalGids starts with the primary gid (as containerd does), so
 * setgroups(2) leaves no stale supplementary groups of the runtime behind.
 */
export function processUser(user: ResolvedUser): { uid: number; gid: number; additionalGids: number[] } {
  return { uid: user.uid, gid: user.gid, additionalGids: [...new Set([user.gid, ...user.additionalGids])] };
}
