/**
 * The syscall seam (docs/contributing.md, "The native seam"): everything berth needs that Node cannot do. pod/, runtime/ and
 * image/ receive a `NativeBinding` by injection; berthd passes the real addon (native/addon.ts),
 * unit tests pass the recording fake (native/testing/fake-native.ts) and assert on the calls.
 * Nothing else reaches the addon: berthd checks at start that it exports every op below.
 *
 * Every method rejects with a `NativeError` carrying `code` (e.g. 'EPERM') and `errno`.
 */

/** Mount flags understood by `mount` (a subset of MS_*). */
export type MountFlag =
  | 'rdonly'
  | 'nosuid'
  | 'nodev'
  | 'noexec'
  | 'bind'
  | 'rec'
  | 'remount'
  | 'private'
  | 'rprivate'
  | 'slave'
  | 'rslave'
  | 'shared'
  | 'rshared'
  | 'relatime';

/** umount2 flags. */
export type UnmountFlag = 'detach' | 'force' | 'nofollow';

/** Namespaces the pause process can be started in. */
export type NamespaceKind = 'net' | 'ipc' | 'uts' | 'pid' | 'user';

/** One range of a user namespace's id map: `length` ids from `containerId` inside = from `hostId` outside. */
export interface IdMap {
  readonly containerId: number;
  readonly hostId: number;
  readonly length: number;
}

/** A user namespace's uid and gid maps. */
export interface UserNamespaceMaps {
  readonly uids: readonly IdMap[];
  readonly gids: readonly IdMap[];
}

/** How to start a pod's pause process. */
export interface PauseSpec {
  /** Absolute path of the pause executable (built from native/pause.c). */
  readonly executable: string;
  /** New namespaces to create for it (the rest are shared with the host). */
  readonly namespaces: readonly NamespaceKind[];
  /** Hostname set inside the new UTS namespace (ignored without 'uts'). */
  readonly hostname: string;
  /** uid/gid pause runs as after setup (65535 by default); it keeps no capabilities. */
  readonly uid: number;
  readonly gid: number;
  /** `cgroup.procs` files pause is written into before it drops privileges. */
  readonly cgroupProcs: readonly string[];
  /**
   * cgroup v2 directories that get a deny-all device filter (BPF_CGROUP_DEVICE, allow-multi)
   * before pause joins them: v2's counterpart of `a` in a v1 devices.deny.
   */
  readonly denyDevicesCgroups?: readonly string[];
  /**
   * Sysctls written under /proc/sys inside the new namespaces before privileges are dropped,
   * e.g. { 'net.ipv4.ip_unprivileged_port_start': '0' }. Names are already validated by pod/.
   */
  readonly sysctls: Readonly<Record<string, string>>;
  /** A file pause's stdout/stderr go to (it writes nothing in normal operation). */
  readonly logFile?: string;
  /**
   * A new user namespace with these maps, owning every other namespace of pause (which then
   * includes 'user'); uid/gid are ids inside it. Absent: the host's user namespace.
   */
  readonly userNamespace?: UserNamespaceMaps;
  /**
   * An existing network namespace (a pin from createNetns) pause joins instead of creating one:
   * 'net' is then not in `namespaces`. Not allowed with `userNamespace`.
   */
  readonly netns?: string;
}

/** The started pause process. */
export interface PauseProcess {
  readonly pid: number;
}

/** Handle on a process whose exit is being watched; `close` stops watching. */
export interface ExitWatch {
  close(): void;
}

/** A pseudoterminal pair (both fds close-on-exec; neither is anyone's controlling terminal). */
export interface PtyPair {
  readonly master: number;
  readonly slave: number;
  /** /dev/pts/N of the slave. */
  readonly slavePath: string;
}

/** Receives what arrives on a SOCK_SEQPACKET connection. */
export interface SeqpacketHandlers {
  /** One whole packet (packet boundaries are preserved). */
  onPacket(packet: Buffer): void;
  /** Called once: the peer closed (no argument) or reading failed. */
  onEnd(error?: NativeError): void;
}

/** A connected SOCK_SEQPACKET unix socket read on the event loop (no thread held). */
export interface SeqpacketSocket {
  /** Sends `packet` as one packet; while the peer's queue is full it retries, never blocking the loop. */
  send(packet: Buffer): Promise<void>;
  /** shutdown(SHUT_WR): the peer reads end-of-file; packets keep arriving. */
  shutdownWrite(): void;
  /** Stops reading (backpressure) until `resume`. */
  pause(): void;
  resume(): void;
  /** Stops reading and closes the socket; idempotent; no onEnd after it. */
  close(): void;
}

/** How a child started by `spawnProcess` ended: an exit code, or the number of the signal that killed it. */
export type ChildExitCallback = (exitCode: number | null, signal: number | null) => void;

/**
 * A process to start inside a running container as `runc exec` would: the init's namespaces,
 * the container's cgroups, then ids, capabilities, rlimits and the given seccomp filters.
 */
export interface ContainerExecSpec {
  /** The container's init: every namespace of it that is not berthd's own is joined (user first, mnt last). */
  readonly initPid: number;
  /** cgroup.procs files joined first (every v1 hierarchy, or the v2 directory). */
  readonly cgroupProcs: readonly string[];
  readonly args: readonly string[];
  /** KEY=value entries: the process's whole environment. */
  readonly env: readonly string[];
  /** Paths execve tries in order (the PATH lookup of args[0], done by the caller). */
  readonly candidates: readonly string[];
  readonly cwd: string;
  /** Ids inside the container's user namespace. */
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  /** Capability sets as bit masks (bit n = capability n). */
  readonly bounding: bigint;
  readonly effective: bigint;
  readonly permitted: bigint;
  readonly inheritable: bigint;
  readonly ambient: bigint;
  readonly noNewPrivileges: boolean;
  /** RLIMIT_* number with its soft and hard values (2^64-1: unlimited). */
  readonly rlimits: ReadonlyArray<{ readonly resource: number; readonly soft: bigint; readonly hard: bigint }>;
  readonly oomScoreAdj?: number;
  /** BPF programs (struct sock_filter arrays), installed oldest first as the last step before execve. */
  readonly seccompFilters: readonly Buffer[];
}

/** A process started by execInContainer: berthd's child, stdin /dev/null, stdout and stderr piped. */
export interface ContainerExecProcess {
  readonly pid: number;
  readonly stdout: import('node:net').Socket;
  readonly stderr: import('node:net').Socket;
  /** The pipes' "pipe:[inode]" names (as in /proc/<pid>/fd), to find their holders. */
  readonly pipeNames: readonly string[];
  /** Resolves once it has exited (and been reaped). */
  readonly exited: Promise<{ readonly exitCode: number | null; readonly signal: NodeJS.Signals | null }>;
}

export interface NativeBinding {
  /** mount(2). `data` is the filesystem-specific option string (e.g. overlay's lowerdir=…). */
  mount(source: string, target: string, fstype: string, flags: readonly MountFlag[], data?: string): Promise<void>;
  /** umount2(2). */
  unmount(target: string, flags?: readonly UnmountFlag[]): Promise<void>;
  /** mknod(2) for character and block devices and fifos; `mode` includes the file type bits. */
  mknod(path: string, mode: number, major: number, minor: number): Promise<void>;
  /** Reads many small files (cgroup, /proc) in one pool job, each up to `maxBytes`; undefined for one that cannot be read. */
  readFiles(paths: readonly string[], maxBytes: number): Promise<Array<string | undefined>>;
  /** lsetxattr(2): never follows a symlink at `path`. */
  lsetxattr(path: string, name: string, value: Buffer): Promise<void>;
  /** lgetxattr(2): undefined when the attribute is absent (ENODATA). */
  lgetxattr(path: string, name: string): Promise<Buffer | undefined>;
  /** llistxattr(2). */
  llistxattr(path: string): Promise<string[]>;
  /**
   * Starts pause in new namespaces (clone), detached from berthd (it is not berthd's child, so it
   * outlives berthd and is reaped by init), and resolves once it has exec'd.
   */
  startPause(spec: PauseSpec): Promise<PauseProcess>;
  /**
   * A new network namespace with `lo` up, pinned by a bind mount on `pinPath` (an existing empty
   * file); made by a throwaway thread, so no other work ever runs in it.
   */
  createNetns(pinPath: string): Promise<void>;
  /**
   * An idmapped bind mount of `source` on `target` (nosuid, nodev; read-only when asked): ids on
   * disk appear shifted by the maps of `userns`, a user namespace file (a pod's pin) or maps for
   * a throwaway namespace. Not recursive.
   */
  idmapMount(source: string, target: string, userns: string | UserNamespaceMaps, readOnly?: boolean): Promise<void>;
  /**
   * Calls `onExit` once when process `pid` exits (pidfd_open + a poll on the event loop; no thread
   * is held). Throws (synchronously) a NativeError with code ESRCH when the process is already
   * gone; an exited but unreaped process (zombie) is watched and fires at once. The watch never
   * keeps Node alive.
   */
  watchExit(pid: number, onExit: () => void): ExitWatch;
  /**
   * Opens a TCP connection to `port` on `host` inside the network namespace at `netnsPath`
   * (a dedicated thread does setns; the libuv pool is never used) and returns the connected fd.
   */
  connectInNetns(netnsPath: string, host: string, port: number): Promise<number>;
  /**
   * posix_openpt + grantpt + unlockpt + the slave by TIOCGPTPEER, set to raw mode (cfmakeraw),
   * for relaying bytes (synchronous: a few non-blocking syscalls). The caller owns both fds.
   */
  openPty(): PtyPair;
  /** TIOCSWINSZ on a terminal fd (synchronous). */
  setWindowSize(fd: number, rows: number, cols: number): void;
  /**
   * Connects a SOCK_SEQPACKET unix socket (what conmon's attach socket is; Node's net cannot) and
   * reads it on the event loop, one `onPacket` per packet. Paths longer than sun_path are reached
   * through /proc/self/fd/<dir fd>/<name>.
   */
  connectSeqpacket(path: string, handlers: SeqpacketHandlers): Promise<SeqpacketSocket>;
  /**
   * Takes ownership of `fd` (made O_NONBLOCK), reads it on the event loop (one `onPacket` per
   * read) and writes without ever blocking — for a pty master, which Node can only wrap as a
   * tty.ReadStream whose writes block the whole loop once the terminal is full. A pty master reports
   * its end as `onEnd(error)` with code EIO once every slave fd is closed.
   */
  streamFd(fd: number, handlers: SeqpacketHandlers): SeqpacketSocket;
  /**
   * posix_spawn of `file` (a path, or a name searched in berthd's PATH) with exactly `env`
   * ("K=V"), an empty signal mask and default dispositions; child fd i = fds[i] (-1: /dev/null),
   * every other fd closed on exec; setsid() when `newSession`. Returns the pid (synchronous: no
   * fork of berthd's heap). Reap it with `watchChild`.
   */
  spawnProcess(file: string, argv: readonly string[], env: readonly string[], cwd: string, fds: readonly number[], newSession: boolean): number;
  /** pipe2(O_CLOEXEC): [readFd, writeFd] (synchronous). */
  makePipe(): [number, number];
  /** Like watchExit for a child of `spawnProcess`, which it also reaps (waitid); ref'd until then. */
  watchChild(pid: number, onExit: ChildExitCallback): ExitWatch;
  /** V8 LowMemoryNotification + malloc_trim(0): gives memory back after a burst (synchronous, tens of ms). */
  reduceMemory(): void;
  /**
   * An executable copy of regular file `file` in a memfd sealed against writes, growth, shrinking
   * and further seals (runc's own seal set); resolves with the fd (close-on-exec), which the caller owns.
   */
  sealedCopy(file: string): Promise<number>;
  /**
   * Starts a process inside a running container (see ContainerExecSpec), without runc. Rejects
   * with the failing step; a missing or unexecutable program rejects with "execve <args[0]>".
   */
  execInContainer(spec: ContainerExecSpec): Promise<ContainerExecProcess>;
  /**
   * The seccomp filters process `pid` runs under, oldest first (ptrace seize, interrupt,
   * PTRACE_SECCOMP_GET_FILTER, detach); rejects when it cannot be traced (e.g. EPERM).
   */
  readSeccompFilters(pid: number): Promise<Buffer[]>;
}

/** The error every NativeBinding method rejects with. */
export class NativeError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly errno: number,
  ) {
    super(message);
    this.name = 'NativeError';
  }
}
