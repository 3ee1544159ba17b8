/**
 * Helpers for the container e2e tests: a busybox rootfs built from the static busybox, the real
 * native addon with its mounts tracked for cleanup (required: a missing or broken build fails the
 * test with the loader's message), a pod made of a fresh netns plus pod files, and a
 * ContainerManager wired to real runc and conmon.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadNativeBinding } from '../../native/addon';
import type { ContainerExecProcess, ContainerExecSpec, MountFlag, NativeBinding, SeqpacketHandlers, SeqpacketSocket, UnmountFlag, UserNamespaceMaps } from '../../native/binding';
import type { ImageLookup, ResolvedImage, RuntimeNative, SandboxLookup, SandboxView } from '../../runtime/interfaces';

/** Runs a command; resolves with stdout, rejects with stderr in the message. */
export function sh(cmd: string, args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** A short random suffix for names other tests on this host do not use. */
export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}

/** Builds a busybox rootfs at `dir`: /bin/<applet> symlinks, /etc/passwd and /etc/group. */
export async function buildBusyboxRootfs(dir: string): Promise<void> {
  const busybox = '/bin/busybox';
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'var/www', 'home/user']) await fs.mkdir(path.join(dir, d), { recursive: true });
  await fs.copyFile(busybox, path.join(dir, 'bin/busybox'));
  await fs.chmod(path.join(dir, 'bin/busybox'), 0o755);
  const applets = (await sh(busybox, ['--list'])).split('\n').filter((a) => a && a !== 'busybox');
  await Promise.all(applets.map((a) => fs.symlink('busybox', path.join(dir, 'bin', a))));
  await fs.writeFile(
    path.join(dir, 'etc/passwd'),
    ['root:x:0:0:root:/root:/bin/sh', 'www-data:x:33:33:www-data:/var/www:/bin/sh', 'user:x:1000:1000:user:/home/user:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false', ''].join('\n'),
  );
  await fs.writeFile(path.join(dir, 'etc/group'), ['root:x:0:', 'www-data:x:33:', 'user:x:1000:', 'audio:x:29:user', 'nogroup:x:65534:', ''].join('\n'));
  await fs.chmod(path.join(dir, 'tmp'), 0o1777);
}

/** The real binding's runtime ops, remembering what is mounted so cleanup can undo it. */
export class TrackedNative implements RuntimeNative {
  readonly mounted = new Set<string>();
  /** What does the mounts (the bench prints it). */
  readonly kind = 'addon';
  /** Processes started by execInContainer (ExecSync without runc). */
  nativeExecs = 0;
  /** Their pids, in order. */
  readonly nativeExecPids: number[] = [];
  constructor(private readonly inner: NativeBinding = loadNativeBinding()) {}
  async mount(source: string, target: string, fstype: string, flags: readonly MountFlag[], data?: string): Promise<void> {
    await this.inner.mount(source, target, fstype, flags, data);
    this.mounted.add(target);
  }
  async unmount(target: string, flags?: readonly UnmountFlag[]): Promise<void> {
    await this.inner.unmount(target, flags);
    this.mounted.delete(target);
  }
  async idmapMount(source: string, target: string, userns: string | UserNamespaceMaps, readOnly?: boolean): Promise<void> {
    await this.inner.idmapMount(source, target, userns, readOnly);
    this.mounted.add(target);
  }
  openPty(): ReturnType<NativeBinding['openPty']> {
    return this.inner.openPty();
  }
  setWindowSize(fd: number, rows: number, cols: number): void {
    this.inner.setWindowSize(fd, rows, cols);
  }
  streamFd(fd: number, handlers: SeqpacketHandlers): SeqpacketSocket {
    return this.inner.streamFd(fd, handlers);
  }
  connectSeqpacket(socketPath: string, handlers: SeqpacketHandlers): Promise<SeqpacketSocket> {
    return this.inner.connectSeqpacket(socketPath, handlers);
  }
  readFiles(paths: readonly string[], maxBytes: number): Promise<Array<string | undefined>> {
    return this.inner.readFiles(paths, maxBytes);
  }
  async execInContainer(spec: ContainerExecSpec): Promise<ContainerExecProcess> {
    const p = await this.inner.execInContainer(spec);
    this.nativeExecs++;
    this.nativeExecPids.push(p.pid);
    return p;
  }
  readSeccompFilters(pid: number): Promise<Buffer[]> {
    return this.inner.readSeccompFilters(pid);
  }
  sealedCopy(file: string): Promise<number> {
    return this.inner.sealedCopy(file);
  }
}

export class StaticImages implements ImageLookup {
  constructor(private readonly images: Record<string, ResolvedImage>) {}
  async resolveImage(ref: string): Promise<ResolvedImage | undefined> {
    return this.images[ref];
  }
}

export class StaticSandboxes implements SandboxLookup {
  readonly pods = new Map<string, SandboxView>();
  getSandbox(id: string): SandboxView | undefined {
    return this.pods.get(id);
  }
}

/** A test pod: a named netns with lo up, pod files and a log directory. */
export async function makePod(base: string, suffix: string, id: string): Promise<{ pod: SandboxView; netns: string }> {
  const netns = `berthrt-${suffix}-${id}`;
  await sh('ip', ['netns', 'add', netns]);
  await sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  const podDir = path.join(base, 'pods', id);
  await fs.mkdir(podDir, { recursive: true });
  await fs.writeFile(path.join(podDir, 'hostname'), `${id}\n`);
  await fs.writeFile(path.join(podDir, 'hosts'), `127.0.0.1 localhost\n`);
  await fs.writeFile(path.join(podDir, 'resolv.conf'), `nameserver 127.0.0.1\n`);
  const pod: SandboxView = {
    id,
    name: `pod-${id}`,
    namespace: 'e2e',
    uid: `uid-${suffix}-${id}`,
    attempt: 0,
    state: 'ready',
    runtimeHandler: '',
    namespacePaths: { net: `/run/netns/${netns}` },
    cgroupParent: `/berth-rt-e2e-${suffix}`,
    hostnamePath: path.join(podDir, 'hostname'),
    hostsPath: path.join(podDir, 'hosts'),
    resolvConfPath: path.join(podDir, 'resolv.conf'),
    logDirectory: path.join(base, 'logs', id),
    config: { hostname: id },
  };
  return { pod, netns };
}

/** Removes the test's cgroup parent directories in every v1 controller (and v2), ignoring absent ones. */
export async function removeCgroupParent(parent: string): Promise<void> {
  const roots = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd', 'unified', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc'];
  for (const r of roots) {
    const dir = path.join('/sys/fs/cgroup', r, parent);
    // children first (a failed test may leave container cgroups)
    const children = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const c of children) if (c.isDirectory()) await fs.rmdir(path.join(dir, c.name)).catch(() => undefined);
    await fs.rmdir(dir).catch(() => undefined);
  }
}

/** A ContainerManager on real runc + conmon with one busybox image and one netns pod. */
export interface RuntimeEnv {
  base: string;
  suffix: string;
  manager: import('../../runtime/container-manager').ContainerManager;
  native: TrackedNative;
  runcRoot: string;
  pod: SandboxView;
  netnses: string[];
  lowerDir: string;
  /** Closes the manager and opens a new one on the same directories (a berthd restart). */
  restart(): Promise<void>;
}

/** Builds a RuntimeEnv in a fresh temp dir (root needed). */
export async function createRuntimeEnv(opts: { logger?: import('../../common/logger').Logger } = {}): Promise<RuntimeEnv> {
  const { tmpdir } = await import('node:os');
  const { openContainerManager } = await import('../../runtime/open-container-manager');
  const { silentLogger } = await import('../../common/logger');
  const native = new TrackedNative(); // first: a missing addon fails here, before anything is made
  const suffix = uniqueSuffix();
  const base = await fs.mkdtemp(path.join(tmpdir(), 'berth-rt-'));
  const env: Partial<RuntimeEnv> = { base, suffix, netnses: [], native, runcRoot: path.join(base, 'run', 'runtimes', 'runc') };
  try {
    const lowerDir = path.join(base, 'layers', 'busybox');
    await buildBusyboxRootfs(lowerDir);
    env.lowerDir = lowerDir;
    const made = await makePod(base, suffix, 'p1');
    env.netnses!.push(made.netns);
    env.pod = made.pod;
    const sandboxes = new StaticSandboxes();
    sandboxes.pods.set(made.pod.id, made.pod);
    const images = new StaticImages({
      'busybox:e2e': { id: 'sha256:busybox', repoTags: ['busybox:e2e'], repoDigests: [], config: { Cmd: ['sh'], Env: ['PATH=/bin', 'FROM_IMAGE=yes'] }, lowerDirs: [lowerDir] },
      'busybox:www': { id: 'sha256:www', repoTags: ['busybox:www'], repoDigests: [], config: { Cmd: ['sh'], User: 'www-data', WorkingDir: '/var/www' }, lowerDirs: [lowerDir] },
    });
    const open = () =>
      openContainerManager({
        root: base,
        runRoot: path.join(base, 'run'),
        runtimes: { runc: { path: '/usr/sbin/runc' } },
        defaultRuntime: 'runc',
        conmonPath: '/usr/bin/conmon',
        cgroupDriver: 'cgroupfs',
        sandboxes,
        images,
        native: env.native!,
        logger: opts.logger ?? silentLogger,
      });
    env.manager = await open();
    env.restart = async () => {
      env.manager!.close();
      env.manager = await open();
    };
    return env as RuntimeEnv;
  } catch (err) {
    await destroyRuntimeEnv(env);
    throw err;
  }
}

/** Removes everything a RuntimeEnv made: containers, runc state, mounts, netns, cgroups, files. */
export async function destroyRuntimeEnv(env: Partial<RuntimeEnv>): Promise<void> {
  const { removeContainersAndMounts } = await import('./support/pod-containers');
  await removeContainersAndMounts(env);
  for (const ns of env.netnses ?? []) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
  if (env.suffix) await removeCgroupParent(`/berth-rt-e2e-${env.suffix}`);
  if (env.base) await fs.rm(env.base, { recursive: true, force: true });
}
