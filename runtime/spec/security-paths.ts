/** Masked and read-only /proc and /sys paths (the containerd/Docker defaults). Pure. */

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Masked and read-only paths: none when privileged; else the config's lists when given (kubelet
 * sends an empty list for procMount Unmasked), else the defaults.
 */
export function securityPaths(opts: { privileged: boolean; maskedPaths?: string[]; readonlyPaths?: string[] }): {
  maskedPaths: string[];
  readonlyPaths: string[];
} {
  if (opts.privileged) return { maskedPaths: [], readonlyPaths: [] };
  return {
    maskedPaths: opts.maskedPaths ? [...opts.maskedPaths] : [...DEFAULT_MASKED_PATHS],
    readonlyPaths: opts.readonlyPaths ? [...opts.readonlyPaths] : [...DEFAULT_READONLY_PATHS],
  };
}
