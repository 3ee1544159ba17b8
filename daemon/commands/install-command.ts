/**
 * `berthd install [--prefix /usr/local] [--destdir /] [--dry-run]`: installs the launcher, the
 * systemd unit, and default /etc/berth/berth.toml and /etc/crictl.yaml when absent, then prints
 * the systemctl steps. It never runs systemctl itself: enabling a service is the admin's call,
 * and on hosts where systemd is not PID 1 there is nothing to call.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeError, InvalidArgumentError } from '../../common/errors';
import { configToToml } from '../config-toml';
import { EXIT_FAILURE, EXIT_USAGE, type BerthdCommand } from './command';
import { installFiles, planInstallFile, writeInstallFile, type InstallOutcome } from './install-plan';
import { loadConfigOrReport } from './load-config';

/** The host facts install depends on; tests replace them. */
export interface InstallEnvironment {
  checkoutRoot: string;
  nodePath: string;
  /** True when systemd manages this host (sd_booted: /run/systemd/system exists). */
  systemdBooted(): boolean;
  /** The name of PID 1, for the message when it is not systemd. */
  pid1Name(): string;
}

/** The environment of the running berthd (checkout = three levels above dist/daemon/commands). */
export function hostInstallEnvironment(): InstallEnvironment {
  return {
    checkoutRoot: path.resolve(__dirname, '..', '..', '..'),
    nodePath: process.execPath,
    systemdBooted: () => fs.existsSync('/run/systemd/system'),
    pid1Name: () => {
      try {
        return fs.readFileSync('/proc/1/comm', 'utf8').trim();
      } catch {
        return 'unknown';
      }
    },
  };
}

const PAST: Record<InstallOutcome, string> = { create: 'created', update: 'updated', unchanged: 'unchanged', kept: 'kept (exists; not overwritten)' };
const FUTURE: Record<InstallOutcome, string> = { create: 'would create', update: 'would update', unchanged: 'unchanged', kept: 'kept (exists; not overwritten)' };

/** Builds the command for `env`. */
export function makeInstallCommand(env: InstallEnvironment = hostInstallEnvironment()): BerthdCommand {
  return {
    words: ['install'],
    summary: 'Install the launcher and systemd unit (--prefix /usr/local, --destdir <dir>, --dry-run).',
    async run(ctx) {
      const flags = ctx.args.commandFlags ?? {};
      const dryRun = flags['dry-run'] === 'true';
      const prefix = flags.prefix ?? '/usr/local';
      const destdir = flags.destdir ?? '/';
      if (flags.destdir === undefined && ctx.args.optionFlags.some((f) => f.flag === 'root')) {
        // `--root` is berth's state dir; someone meaning "install below this dir" would write to the real /.
        ctx.stderr('berthd: install: --root sets [daemon] root (berth\'s state directory) in the installed berth.toml, not where files go; use --destdir <dir> to install below a directory, or --destdir / to install on this host with that root\n');
        return EXIT_USAGE;
      }
      const loaded = loadConfigOrReport(ctx);
      if (!loaded) return EXIT_USAGE;
      try {
        // berth.toml (only written when absent) holds what `berthd config` prints: defaults, drop-ins, flags.
        const files = await installFiles({ prefix, destdir, checkoutRoot: env.checkoutRoot, nodePath: env.nodePath, socketPath: loaded.config.listen, configToml: configToToml(loaded.config) });
        const lines = [`berthd install${dryRun ? ' (dry run)' : ''}: prefix ${prefix}${destdir === '/' ? '' : `, below ${destdir}`}`];
        for (const file of files) {
          const outcome = await planInstallFile(file);
          if (!dryRun && (outcome === 'create' || outcome === 'update')) await writeInstallFile(file);
          lines.push(`  ${(dryRun ? FUTURE : PAST)[outcome].padEnd(14)} ${file.target}  (${file.what})`);
        }
        lines.push('', ...nextSteps(env, destdir, path.join(prefix, 'bin', 'berthd')));
        ctx.stdout(lines.join('\n') + '\n');
        return 0;
      } catch (err) {
        ctx.stderr(`berthd: install: ${describeError(err)}\n`);
        return err instanceof InvalidArgumentError ? EXIT_USAGE : EXIT_FAILURE;
      }
    },
  };
}

function nextSteps(env: InstallEnvironment, destdir: string, launcher: string): string[] {
  const steps = ['systemctl daemon-reload && systemctl enable --now berthd', 'journalctl -u berthd -f      # logs (JSON lines)'];
  const out = destdir === '/' ? [] : [`Files go below ${destdir}; copy that tree onto the host.`];
  if (env.systemdBooted()) return [...out, 'Next steps:', ...steps.map((s) => `  ${s}`)];
  return [
    ...out,
    `systemd is not running on this host (PID 1 is "${env.pid1Name()}"), so install did not call systemctl.`,
    `Start berthd with your init system or by hand: ${launcher}`,
    'On a systemd host the next steps are:',
    ...steps.map((s) => `  ${s}`),
  ];
}

export const installCommand = makeInstallCommand();
