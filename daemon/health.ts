/**
 * berthd's readiness checks for `/readyz` (metrics-server.ts), `berthd wait-ready` and the systemd
 * notification: the CRI socket serves, recovery of the state on disk finished, and the network is
 * ready (CRI Status' NetworkReady). Output follows Kubernetes' `/readyz?verbose`: one line per
 * check, `[+]name ok` or `[-]name failed: reason`.
 */

/** The check names, in report order. */
export const READINESS_CHECKS = ['cri', 'recovery', 'network'] as const;
export type ReadinessCheck = (typeof READINESS_CHECKS)[number];

/** The outcome of one check. */
export interface CheckResult {
  name: ReadinessCheck;
  ok: boolean;
  /** Why it failed (absent when ok). */
  reason?: string;
}

/** What the HTTP endpoint asks of the daemon. */
export interface HealthSource {
  /** Every check not in `exclude`, in READINESS_CHECKS order. */
  readiness(exclude?: ReadonlySet<string>): CheckResult[];
}

/** Network readiness as DaemonStatusSource.networkReady() reports it. */
export type NetworkReadiness = () => { ready: boolean; reason?: string; message?: string };

/** Mutable readiness state the daemon updates as it starts and stops. */
export class DaemonHealth implements HealthSource {
  private serving = false;
  private recovered = false;
  private network: NetworkReadiness | undefined;

  /** The CRI socket accepts calls (true) or stopped accepting them (false). */
  setServing(serving: boolean): void {
    this.serving = serving;
  }

  /** Recovery of pods, containers and images from disk finished. */
  setRecovered(): void {
    this.recovered = true;
  }

  /** Plugs in the network readiness source (the Status source, once the layers exist). */
  setNetwork(source: NetworkReadiness): void {
    this.network = source;
  }

  readiness(exclude: ReadonlySet<string> = new Set()): CheckResult[] {
    const out: CheckResult[] = [];
    for (const name of READINESS_CHECKS) {
      if (exclude.has(name)) continue;
      out.push(this.check(name));
    }
    return out;
  }

  private check(name: ReadinessCheck): CheckResult {
    switch (name) {
      case 'cri':
        return this.serving ? { name, ok: true } : { name, ok: false, reason: 'the CRI socket is not serving' };
      case 'recovery':
        return this.recovered ? { name, ok: true } : { name, ok: false, reason: 'recovering pods, containers and images from disk' };
      case 'network': {
        if (!this.network) return { name, ok: false, reason: 'the CNI network layer is not initialised' };
        let s: ReturnType<NetworkReadiness>;
        try {
          s = this.network();
        } catch (err) {
          return { name, ok: false, reason: `read network status: ${err instanceof Error ? err.message : String(err)}` };
        }
        if (s.ready) return { name, ok: true };
        return { name, ok: false, reason: [s.reason, s.message].filter((x) => x).join(': ') || 'network not ready' };
      }
    }
  }
}

/** The plain-text report of `results`: Kubernetes' verbose readyz format. */
export function formatReadiness(results: readonly CheckResult[], endpoint = 'readyz'): string {
  const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: ${oneLine(r.reason ?? 'failed')}`));
  lines.push(results.every((r) => r.ok) ? `${endpoint} check passed` : `${endpoint} check failed`);
  return lines.join('\n') + '\n';
}

/** The `exclude` query values (repeatable, or comma-separated) of a URL's query string. */
export function excludedChecks(query: string): Set<string> {
  const out = new Set<string>();
  for (const value of new URLSearchParams(query).getAll('exclude')) {
    for (const name of value.split(',')) if (name.trim()) out.add(name.trim());
  }
  return out;
}

/** Reasons may be multi-line error text; the report keeps one line per check. */
function oneLine(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, '; ');
  return flat.length > 500 ? `${flat.slice(0, 500)}...` : flat;
}
