/** CNI spec versions berth can drive, and comparisons between them. */

/** Network config versions we accept (0.3.0 introduced lists; 1.1.0 added STATUS/GC). */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** True when `version` is one we can drive. */
export function isSupportedCniVersion(version: unknown): version is string {
  return typeof version === 'string' && (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(version);
}

/** Compares dotted versions numerically: negative, zero or positive like a sort comparator. */
function compareCniVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True when `version` >= `min`. */
export function atLeast(version: string, min: string): boolean {
  return compareCniVersions(version, min) >= 0;
}
