/**
 * What `berthd install` puts on a host: the launcher, the systemd unit, and (only when absent)
 * /etc/berth/berth.toml and /etc/crictl.yaml. Each file is planned against the disk first
 * (create, update, unchanged, kept) so a dry run prints exactly what a real run would do.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file';
import { InvalidArgumentError, RuntimeError } from '../../common/errors';

/** What the files are made from. */
export interface InstallInputs {
  /** Where the launcher goes: <prefix>/bin/berthd. */
  prefix: string;
  /** Everything is written below this directory ("/" on a real host). */
  destdir: string;
  /** The berth checkout whose bin/berthd the launcher runs. */
  checkoutRoot: string;
  /** The Node.js binary the launcher uses (the one running install, so systemd's PATH does not matter). */
  nodePath: string;
  /** The CRI socket, for crictl.yaml. */
  socketPath: string;
  /** The TOML written to /etc/berth/berth.toml when absent. */
  configToml: string;
}

/** One file to install; `path` is where it lives on the host, `target` includes destdir. */
export interface InstallFile {
  path: string;
  target: string;
  content: string;
  mode: number;
  /** replace: keep it current; if-absent: an admin's file is never overwritten. */
  policy: 'replace' | 'if-absent';
  what: string;
}

export type InstallOutcome = 'create' | 'update' | 'unchanged' | 'kept';

/** The unit's ExecStart in contrib/berthd.service, replaced by the installed launcher path. */
const TEMPLATE_EXEC_START = 'ExecStart=/usr/local/bin/berthd';
/** Every Exec line running the launcher (ExecStart, ExecStartPost's wait-ready). */
const TEMPLATE_EXEC_LINES = /^(Exec[A-Za-z]*=)\/usr\/local\/bin\/berthd\b/gm;

/** The files to install, from the checkout's contrib/ templates. */
export async function installFiles(inputs: InstallInputs): Promise<InstallFile[]> {
  for (const [name, dir] of [['--prefix', inputs.prefix], ['--destdir', inputs.destdir]] as const) {
    if (!path.isAbsolute(dir)) throw new InvalidArgumentError(`plan install: ${name} must be an absolute path, got "${dir}"`);
  }
  const launcherSource = path.join(inputs.checkoutRoot, 'bin', 'berthd');
  const unitTemplate = await readTemplate(path.join(inputs.checkoutRoot, 'contrib', 'berthd.service'));
  if (!unitTemplate.includes(TEMPLATE_EXEC_START)) throw new RuntimeError(`plan install: contrib/berthd.service has no "${TEMPLATE_EXEC_START}" line`);
  await readTemplate(launcherSource);
  const launcher = path.join(inputs.prefix, 'bin', 'berthd');
  const under = (p: string) => path.join(inputs.destdir, p);
  const files: Array<Omit<InstallFile, 'target'>> = [
    { path: launcher, content: launcherScript(inputs.nodePath, launcherSource), mode: 0o755, policy: 'replace', what: `launcher for ${launcherSource}` },
    { path: '/etc/systemd/system/berthd.service', content: unitTemplate.replace(TEMPLATE_EXEC_LINES, (_m, key: string) => `${key}${launcher}`), mode: 0o644, policy: 'replace', what: 'systemd unit' },
    { path: '/etc/berth/berth.toml', content: `# berthd configuration written by \`berthd install\` (the defaults; see docs/configuration.md).\n${inputs.configToml}`, mode: 0o644, policy: 'if-absent', what: 'configuration' },
    { path: '/etc/crictl.yaml', content: crictlYaml(inputs.socketPath), mode: 0o644, policy: 'if-absent', what: 'crictl endpoints' },
  ];
  return files.map((f) => ({ ...f, target: under(f.path) }));
}

/** A /bin/sh wrapper that runs the checkout's launcher with a fixed Node.js binary. */
export function launcherScript(nodePath: string, launcherSource: string): string {
  return `#!/bin/sh\n# berthd launcher written by \`berthd install\`.\nexec ${shellQuote(nodePath)} ${shellQuote(launcherSource)} "$@"\n`;
}

/** /etc/crictl.yaml for `socketPath` (same keys as contrib/crictl.yaml). */
export function crictlYaml(socketPath: string): string {
  return [`runtime-endpoint: unix://${socketPath}`, `image-endpoint: unix://${socketPath}`, 'timeout: 10', 'debug: false', 'pull-image-on-create: false', ''].join('\n');
}

/** What installing `file` would do to the disk now. */
export async function planInstallFile(file: InstallFile): Promise<InstallOutcome> {
  let current: string;
  try {
    const st = await fs.lstat(file.target);
    // A symlink (e.g. from `npm link`) is replaced by the wrapper, never followed.
    if (!st.isFile()) return file.policy === 'if-absent' ? 'kept' : 'update';
    current = await fs.readFile(file.target, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'create';
    throw new RuntimeError(`inspect ${file.target}`, { cause: err });
  }
  if (file.policy === 'if-absent') return 'kept';
  return current === file.content ? 'unchanged' : 'update';
}

/** Writes `file` (parents created, atomic replace). */
export async function writeInstallFile(file: InstallFile): Promise<void> {
  try {
    await fs.mkdir(path.dirname(file.target), { recursive: true });
    await writeFileAtomic(file.target, file.content, file.mode);
    await fs.chmod(file.target, file.mode);
  } catch (err) {
    throw new RuntimeError(`write ${file.target}`, { cause: err });
  }
}

async function readTemplate(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new RuntimeError(`read ${file} (is this a berth checkout?)`, { cause: err });
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
