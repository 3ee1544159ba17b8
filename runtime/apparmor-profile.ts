/**
 * The text of berth's default AppArmor profile, applied to containers that ask for runtime/default
 * (or for nothing) on hosts with AppArmor. It lets ordinary programs do their work (files,
 * sockets, the capabilities the runtime granted) and takes away what a container escape needs:
 * mounting, writing kernel-wide /proc and /sys files, reading kernel memory and firmware,
 * signalling or tracing processes outside the profile. Self-contained (no #include) so it loads
 * on hosts whose /etc/apparmor.d lacks the usual abstractions.
 */

/** /proc directories that hold kernel-wide state (not a process's own files). */
const PROC_KERNEL_DIRS = ['acpi', 'asound', 'bus', 'driver', 'dynamic_debug', 'fs', 'irq', 'pressure', 'scsi', 'sys', 'sysvipc', 'tty'];

/** /proc files that expose or change kernel memory or the machine's state. */
const PROC_KERNEL_FILES = ['kcore', 'kmem', 'mem', 'sysrq-trigger'];

/** /sys trees no container reads: firmware tables and the security/debug filesystems. */
const SYS_SECRET_DIRS = ['firmware', 'kernel/security', 'kernel/debug'];

/**
 * Globs matching every path under `base` except those under `base/keep`: for each character of
 * `keep`, "same prefix, then anything but this character". AppArmor deny rules cannot be undone
 * by a later allow, so an exception has to be carved out of the pattern itself.
 */
export function everythingUnderExcept(base: string, keep: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < keep.length; i++) out.push(`${base}/${keep.slice(0, i)}[^${keep[i]}]**`);
  return out;
}

/** The profile named `name` (letters, digits, '-', '_', '.'), as apparmor_parser reads it. */
export function berthDefaultAppArmorProfile(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`AppArmor profile name ${JSON.stringify(name)} is not a plain word`);
  const lines = [
    `# ${name}: berth's AppArmor profile for containers (runtime/default). Written by berthd at`,
    '# start and loaded with apparmor_parser -Kr; edits here are replaced at the next start.',
    '',
    `profile ${name} flags=(attach_disconnected,mediate_deleted) {`,
    '  # Ordinary work: files (narrowed below), sockets, the capabilities the runtime granted.',
    '  file,',
    '  network,',
    '  capability,',
    '',
    '  # Signals and ptrace stay among processes of this profile; the runtime (unconfined) may',
    '  # still signal them to stop them.',
    `  signal (send,receive) peer=${name},`,
    '  signal (receive) peer=unconfined,',
    `  ptrace (trace,read,tracedby,readby) peer=${name},`,
    '',
    '  # No mount table changes: no new mounts, and no unmount that would uncover a masked path.',
    '  deny mount,',
    '  deny umount,',
    '  deny pivot_root,',
    '',
    "  # /proc: a process's own files stay writable (oom_score_adj, attr); the kernel's do not.",
    '  deny /proc/* w,',
    `  deny /proc/{${PROC_KERNEL_DIRS.join(',')}}/** w,`,
    `  deny /proc/{${PROC_KERNEL_FILES.join(',')}} rwklx,`,
    '',
    '  # /sys: read-only except the cgroup tree; firmware and security filesystems unreadable.',
    ...everythingUnderExcept('/sys', 'fs/cgroup/').map((glob) => `  deny ${glob} wklx,`),
    ...SYS_SECRET_DIRS.map((dir) => `  deny /sys/${dir}/** rwklx,`),
    '}',
    '',
  ];
  return lines.join('\n');
}
