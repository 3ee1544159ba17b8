/**
 * Request fingerprints for idempotent creates (pods and containers): a kubelet retry carries the
 * same config as the request it retries, so equal fingerprints mean "the same request".
 */

/**
 * A stable fingerprint of a request config: JSON with object keys sorted and
 * empty/undefined values dropped, so a protobuf-decoded request and the same request read back
 * from a JSON record compare equal.
 */
export function configFingerprint(value: unknown): string {
  return JSON.stringify(normalize(value)) ?? '';
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = normalize((value as Record<string, unknown>)[key]);
    if (v === undefined || v === null || v === '' || v === 0 || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    out[key] = v;
  }
  return out;
}
