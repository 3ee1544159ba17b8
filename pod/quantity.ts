/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity) for the bandwidth
 * annotations `kubernetes.io/ingress-bandwidth` and `kubernetes.io/egress-bandwidth`
 * (bits per second, e.g. `10M`, `1Gi`, `500k`, `1e6`).
 */
import { InvalidArgumentError } from '../common/errors';

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Longest quantity string accepted; Kubernetes' own quantities are far shorter (`999999999999999999999Ei`). */
const MAX_QUANTITY_LENGTH = 64;

/**
 * Parses a quantity string to a number; undefined when it is not one. Grammar:
 * `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits | Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|k|M|G|T|P|E)?`,
 * read by one left-to-right scan (no regex: a backtracking one was quadratic in the digits).
 * Longer than `maxLength` is not a quantity.
 */
export function parseQuantity(text: string, maxLength = MAX_QUANTITY_LENGTH): number | undefined {
  if (text.length > maxLength + 32) return undefined; // before trim(): it copies
  const s = text.trim();
  if (s.length > maxLength) return undefined;
  let i = 0;
  if (s[i] === '+' || s[i] === '-') i++;
  const intStart = i;
  while (isDigit(s, i)) i++;
  const intDigits = i - intStart;
  let fracDigits = 0;
  if (s[i] === '.') {
    i++;
    const fracStart = i;
    while (isDigit(s, i)) i++;
    fracDigits = i - fracStart;
  }
  if (intDigits === 0 && fracDigits === 0) return undefined;
  const base = Number(s.slice(0, i));
  if (!Number.isFinite(base)) return undefined;
  const rest = s.slice(i);
  if (rest === '') return base;
  // A suffix first: "E" and "Ei" are exa and exbi, not an exponent without digits.
  if (Object.prototype.hasOwnProperty.call(SUFFIX, rest)) return base * SUFFIX[rest];
  if (rest[0] !== 'e' && rest[0] !== 'E') return undefined;
  let j = 1;
  if (rest[j] === '+' || rest[j] === '-') j++;
  const expStart = j;
  while (isDigit(rest, j)) j++;
  if (j === expStart || j !== rest.length) return undefined;
  return base * 10 ** Number(rest.slice(1));
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

// kubelet's bounds (pkg/util/bandwidth/utils.go): 1k ≤ rate ≤ 1P bits/s.
const MIN_BPS = 1e3;
const MAX_BPS = 1e15;

/** Reads the bandwidth annotations; undefined when neither is set. */
export function bandwidthFromAnnotations(
  annotations: Record<string, string>,
): { ingressBps?: number; egressBps?: number } | undefined {
  const ingress = parseBandwidth(annotations, 'kubernetes.io/ingress-bandwidth');
  const egress = parseBandwidth(annotations, 'kubernetes.io/egress-bandwidth');
  if (ingress === undefined && egress === undefined) return undefined;
  const out: { ingressBps?: number; egressBps?: number } = {};
  if (ingress !== undefined) out.ingressBps = ingress;
  if (egress !== undefined) out.egressBps = egress;
  return out;
}

function parseBandwidth(annotations: Record<string, string>, key: string): number | undefined {
  const raw = annotations[key];
  if (raw === undefined) return undefined;
  if (raw.length > MAX_QUANTITY_LENGTH) {
    throw new InvalidArgumentError(`annotations[${JSON.stringify(key)}]: value of ${Buffer.byteLength(raw)} bytes exceeds ${MAX_QUANTITY_LENGTH} bytes (a quantity)`);
  }
  const value = parseQuantity(raw);
  if (value === undefined) throw new InvalidArgumentError(`annotations[${JSON.stringify(key)}]: ${JSON.stringify(raw)} is not a quantity`);
  if (value < MIN_BPS || value > MAX_BPS) {
    throw new InvalidArgumentError(`annotations[${JSON.stringify(key)}]: ${raw} is outside 1k..1P bits per second`);
  }
  return Math.floor(value);
}
