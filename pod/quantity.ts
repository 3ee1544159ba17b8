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

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** Parses a quantity string to a number; undefined when it is not one. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (!Number.isFinite(base)) return undefined;
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * SUFFIX[m[3] ?? ''];
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
  const value = parseQuantity(raw);
  if (value === undefined) throw new InvalidArgumentError(`annotations[${key}]: ${JSON.stringify(raw)} is not a quantity`);
  if (value < MIN_BPS || value > MAX_BPS) {
    throw new InvalidArgumentError(`annotations[${key}]: ${raw} is outside 1k..1P bits per second`);
  }
  return Math.floor(value);
}
