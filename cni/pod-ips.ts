/** Extracts the pod's IPs from a CNI result the way kubelet expects them. */
import { isIPv4 } from 'node:net';
import { CniResult } from './types';

/**
 * The addresses (without prefix length) assigned inside the pod: IPs whose `interface` index
 * points at an interface with a `sandbox`, or that name no interface. IPv4 first, then IPv6,
 * otherwise in result order, so the primary IP is IPv4 on dual-stack pods as kubelet expects.
 */
export function podIpsFromResult(result: CniResult): string[] {
  const interfaces = result.interfaces ?? [];
  const ips: string[] = [];
  for (const entry of result.ips ?? []) {
    if (typeof entry.address !== 'string') continue;
    if (typeof entry.interface === 'number') {
      const iface = interfaces[entry.interface];
      if (iface && !iface.sandbox) continue; // a host-side address (e.g. a gateway on the bridge)
    }
    const address = entry.address.split('/')[0]!;
    if (address && !ips.includes(address)) ips.push(address);
  }
  return [...ips.filter((ip) => isIPv4(ip)), ...ips.filter((ip) => !isIPv4(ip))];
}
