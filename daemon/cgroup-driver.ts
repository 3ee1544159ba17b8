/**
 * Refuses a cgroup driver berthd cannot honour, before anything starts: kubelet configures itself
 * from RuntimeConfig, so advertising "systemd" without placing pods in systemd slices would leave
 * every pod failing to start.
 */
import { promises as fs } from 'node:fs';
import type { BerthConfig } from './config-schema';

/** Where systemd shows it is the init system (injectable for tests). */
export interface SystemdProbe {
  /** Exists only when systemd booted the host (sd_booted(3)). */
  runSystemdSystem: string;
  /** The command name of PID 1. */
  pid1Comm: string;
}

export const HOST_SYSTEMD_PROBE: SystemdProbe = { runSystemdSystem: '/run/systemd/system', pid1Comm: '/proc/1/comm' };

/** Is systemd PID 1? With the reason when not, for the refusal message. */
export async function systemdIsInit(probe: SystemdProbe = HOST_SYSTEMD_PROBE): Promise<{ running: true } | { running: false; why: string }> {
  const comm = (await fs.readFile(probe.pid1Comm, 'utf8').catch(() => '')).trim();
  const booted = await fs.stat(probe.runSystemdSystem).then((s) => s.isDirectory(), () => false);
  if (!booted) return { running: false, why: `${probe.runSystemdSystem} does not exist${comm ? ` (PID 1 is ${JSON.stringify(comm)})` : ''}` };
  if (comm !== 'systemd') return { running: false, why: `PID 1 is ${JSON.stringify(comm || 'unknown')}, not systemd` };
  return { running: true };
}

/**
 * The reason the configured cgroup driver cannot be used on this host, or undefined when it can.
 * "systemd" is refused everywhere today: pod cgroups are created with cgroupfs only and pod
 * slices are refused, so saying "systemd" to kubelet would only make every pod fail.
 */
export async function cgroupDriverProblem(config: Pick<BerthConfig, 'cgroupDriver'>, probe: SystemdProbe = HOST_SYSTEMD_PROBE): Promise<string | undefined> {
  if (config.cgroupDriver !== 'systemd') return undefined;
  const init = await systemdIsInit(probe);
  if (!init.running) {
    return `[daemon] cgroup_driver: "systemd" needs systemd as the init system (PID 1), but ${init.why}; set cgroup_driver = "cgroupfs" (and kubelet's cgroupDriver: cgroupfs)`;
  }
  return '[daemon] cgroup_driver: the "systemd" cgroup driver is not supported yet (berthd places pods with cgroupfs and cannot use kubelet\'s .slice parents); set cgroup_driver = "cgroupfs" (and kubelet\'s cgroupDriver: cgroupfs)';
}
