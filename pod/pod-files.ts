/**
 * The files a pod's containers get bind-mounted: /etc/hostname, /etc/hosts and /etc/resolv.conf.
 * They live in the pod's volatile dir; hosts is rewritten (atomically) once CNI gave the pod an IP.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Where a pod's files are. */
export interface PodFilePaths {
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

/** The paths of the files in `dir`. */
function podFilePaths(dir: string): PodFilePaths {
  return {
    hostnamePath: path.join(dir, 'hostname'),
    hostsPath: path.join(dir, 'hosts'),
    resolvConfPath: path.join(dir, 'resolv.conf'),
  };
}

/** resolv.conf content for the pod's dns_config. */
export function renderResolvConf(dns: { servers: string[]; searches: string[]; options: string[] }): string {
  const lines: string[] = [];
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(' ')}`);
  for (const server of dns.servers) lines.push(`nameserver ${server}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** The pod-managed hosts file (what kubelet writes for containers); `ips` may be empty before CNI. */
export function renderHosts(hostname: string, ips: readonly string[]): string {
  const lines = [
    '# Kubernetes-managed hosts file (written by berth).',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return lines.join('\n') + '\n';
}

/** Inputs of writePodFiles. */
export interface PodFilesSpec {
  hostname: string;
  dns: { servers: string[]; searches: string[]; options: string[] } | undefined;
  /** Host network pods see the host's /etc/hosts (as kubelet arranges for hostNetwork pods). */
  hostNetwork: boolean;
  hostResolvConf: string;
  hostHosts: string;
}

/** Writes hostname, hosts and resolv.conf into `dir` (which exists). */
export async function writePodFiles(dir: string, spec: PodFilesSpec): Promise<PodFilePaths> {
  const paths = podFilePaths(dir);
  const resolv = spec.dns ? Promise.resolve(renderResolvConf(spec.dns)) : readOrEmpty(spec.hostResolvConf);
  const hosts = spec.hostNetwork ? readOrEmpty(spec.hostHosts) : Promise.resolve(renderHosts(spec.hostname, []));
  // Plain writes: the dir is new and private to this pod, a crash just discards it.
  await Promise.all([
    fs.writeFile(paths.hostnamePath, spec.hostname + '\n', { mode: 0o644 }),
    hosts.then((content) => fs.writeFile(paths.hostsPath, content, { mode: 0o644 })),
    resolv.then((content) => fs.writeFile(paths.resolvConfPath, content, { mode: 0o644 })),
  ]);
  return paths;
}

/**
 * Adds the pod IPs to its hosts file after CNI. Rename keeps readers from seeing half a file; no
 * fsync because the file is volatile (run-root) and rebuilt with the pod.
 */
export async function updateHostsWithIps(hostsPath: string, hostname: string, ips: readonly string[]): Promise<void> {
  const tmp = `${hostsPath}.tmp`;
  await fs.writeFile(tmp, renderHosts(hostname, ips), { mode: 0o644 });
  await fs.rename(tmp, hostsPath);
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
