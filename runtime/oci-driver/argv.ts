/**
 * The argv of every OCI runtime (runc, crun) invocation berth makes. Pure: nothing here runs a
 * process. Every flag is one `--name=value` token, so the same global flags can be handed to
 * conmon as `--runtime-arg` values.
 *
 * Global flags, before the command: `--root` (each handler's own state directory),
 * `--log-format=json` (the runtime's log records are JSON lines, parsed by runc-errors.ts) and,
 * where the runtime's own messages must not mix with a process's output (exec), `--log` to a file.
 * `--systemd-cgroup` is never passed: berth creates and names cgroups itself (cgroupfs paths).
 */

/** The flags every invocation of one handler's runtime starts with. */
export interface RuntimeGlobals {
  /** The runtime's --root (its state directory). */
  readonly root: string;
}

/** One runtime command and its own flags. */
export type RuntimeCommand =
  | { readonly verb: 'start'; readonly id: string }
  | { readonly verb: 'kill'; readonly id: string; readonly signal: string }
  | { readonly verb: 'delete'; readonly id: string; readonly force: boolean }
  | { readonly verb: 'state'; readonly id: string }
  /** Resources as JSON on stdin. */
  | { readonly verb: 'update'; readonly id: string }
  /** `--version` alone: no global flags. */
  | { readonly verb: 'version' }
  | {
      readonly verb: 'exec';
      readonly id: string;
      /** The process (OCI process JSON) to run, instead of command-line arguments. */
      readonly processFile: string;
      /** Where the runtime writes the exec'd process's pid once it started. */
      readonly pidFile: string;
      /** The runtime's own log (its errors), kept apart from the process's output. */
      readonly logFile: string;
      /** The process gets a terminal (the runtime relays it over its own stdio). */
      readonly tty: boolean;
    };

/** The global flags (see the file comment); `logFile` adds `--log`. */
export function globalArgs(g: RuntimeGlobals, logFile?: string): string[] {
  const args = [`--root=${g.root}`, '--log-format=json'];
  if (logFile !== undefined) args.push(`--log=${logFile}`);
  return args;
}

/** The whole argv after the binary for `cmd`. */
export function runtimeArgv(g: RuntimeGlobals, cmd: RuntimeCommand): string[] {
  switch (cmd.verb) {
    case 'start':
      return [...globalArgs(g), 'start', cmd.id];
    case 'kill':
      return [...globalArgs(g), 'kill', cmd.id, cmd.signal];
    case 'delete':
      return [...globalArgs(g), 'delete', ...(cmd.force ? ['--force'] : []), cmd.id];
    case 'state':
      return [...globalArgs(g), 'state', cmd.id];
    case 'update':
      return [...globalArgs(g), 'update', '--resources=-', cmd.id];
    case 'version':
      return ['--version'];
    case 'exec':
      return [
        ...globalArgs(g, cmd.logFile),
        'exec',
        `--process=${cmd.processFile}`,
        `--pid-file=${cmd.pidFile}`,
        ...(cmd.tty ? ['--tty'] : []),
        cmd.id,
      ];
  }
}

/**
 * The runtime flags conmon passes before `create` (conmon adds `create --bundle … --pid-file …`
 * itself): the global flags, each as one `--runtime-arg` value.
 */
export function conmonRuntimeArgs(g: RuntimeGlobals): string[] {
  return globalArgs(g).flatMap((arg) => ['--runtime-arg', arg]);
}
