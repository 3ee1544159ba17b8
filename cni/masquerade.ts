/**
 * One network-wide MASQUERADE rule for berth's embedded default network, instead of the bridge
 * plugin's per-pod `ipMasq` chains: those cost ~40 ms of iptables execs per ADD and ~30 ms per
 * DEL on a 2-core VM (measured), and a single rule per subnet is what Docker and podman install.
 * The rule is idempotent (checked with -C before -A) and stays when berthd exits, because pods
 * outlive berthd.
 */
import { execFile } from 'node:child_process';
import { RuntimeError } from '../common/errors';

/** The iptables arguments (after -t nat -X POSTROUTING) of the rule for `subnet`. */
export function masqueradeRuleArgs(networkName: string, subnet: string): string[] {
  return ['-s', subnet, '!', '-d', subnet, '-m', 'comment', '--comment', `berth network ${networkName} masquerade`, '-j', 'MASQUERADE'];
}

/** Installs the rule unless it is there already. */
export async function ensureMasquerade(networkName: string, subnet: string, iptables = 'iptables'): Promise<void> {
  const rule = masqueradeRuleArgs(networkName, subnet);
  const present = await runIptables(iptables, ['-w', '-t', 'nat', '-C', 'POSTROUTING', ...rule]).then(
    () => true,
    () => false,
  );
  if (present) return;
  try {
    await runIptables(iptables, ['-w', '-t', 'nat', '-A', 'POSTROUTING', ...rule]);
  } catch (cause) {
    throw new RuntimeError(`install masquerade rule for network ${networkName} (${subnet})`, { cause });
  }
}

/** Removes the rule (all copies); absent is fine. For uninstall and tests. */
export async function removeMasquerade(networkName: string, subnet: string, iptables = 'iptables'): Promise<void> {
  const rule = masqueradeRuleArgs(networkName, subnet);
  for (let i = 0; i < 10; i++) {
    const removed = await runIptables(iptables, ['-w', '-t', 'nat', '-D', 'POSTROUTING', ...rule]).then(
      () => true,
      () => false,
    );
    if (!removed) return;
  }
}

function runIptables(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new RuntimeError(`run ${binary} ${args.join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve();
    });
  });
}
