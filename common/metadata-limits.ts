/**
 * Size caps on the label and annotation maps of RunPodSandbox and CreateContainer, checked before
 * anything reads a value (the bandwidth annotations are parsed, every map is stored, listed and
 * copied into the OCI spec). The caps are Kubernetes' own (apimachinery ValidateAnnotations and
 * ValidateLabels), so nothing the API server accepts is refused; label values get headroom over
 * Kubernetes' 63 because kubelet puts the pod name (≤253) in io.kubernetes.pod.name.
 */
import { InvalidArgumentError } from './errors';

export interface MapLimits {
  /** Longest key in bytes. */
  maxKeyBytes: number;
  /** Longest value in bytes. */
  maxValueBytes: number;
  /** Sum of the bytes of every key and value. */
  maxTotalBytes: number;
}

/** A qualified name: a DNS-subdomain prefix (253), "/", a name (63). */
const MAX_KEY_BYTES = 253 + 1 + 63;

/** Kubernetes' TotalAnnotationSizeLimitB. */
const ANNOTATION_LIMITS: MapLimits = { maxKeyBytes: MAX_KEY_BYTES, maxValueBytes: 256 * 1024, maxTotalBytes: 256 * 1024 };

const LABEL_LIMITS: MapLimits = { maxKeyBytes: MAX_KEY_BYTES, maxValueBytes: 1024, maxTotalBytes: 256 * 1024 };

/** How a key appears in a message: quoted, and cut short when it is itself oversized. */
function keyText(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

/**
 * Throws InvalidArgumentError naming `field[key]` when a key, a value or the whole map is over
 * `limits`. Linear in the map's size; `field` is e.g. "annotations" or "config.labels".
 */
function checkMapSize(field: string, map: Readonly<Record<string, string>> | null | undefined, limits: MapLimits): void {
  if (!map) return;
  let total = 0;
  for (const key of Object.keys(map)) {
    const value = map[key] ?? '';
    const keyBytes = Buffer.byteLength(key);
    if (keyBytes > limits.maxKeyBytes) throw new InvalidArgumentError(`${field}[${keyText(key)}]: key of ${keyBytes} bytes exceeds ${limits.maxKeyBytes} bytes`);
    const valueBytes = Buffer.byteLength(value);
    if (valueBytes > limits.maxValueBytes) throw new InvalidArgumentError(`${field}[${keyText(key)}]: value of ${valueBytes} bytes exceeds ${limits.maxValueBytes} bytes`);
    total += keyBytes + valueBytes;
    if (total > limits.maxTotalBytes) throw new InvalidArgumentError(`${field}: keys and values exceed ${limits.maxTotalBytes} bytes in total`);
  }
}

/** The label and annotation caps of a pod or container config. */
export function checkMetadataMaps(
  config: { labels?: Readonly<Record<string, string>> | null; annotations?: Readonly<Record<string, string>> | null },
  prefix = '',
): void {
  checkMapSize(`${prefix}labels`, config.labels, LABEL_LIMITS);
  checkMapSize(`${prefix}annotations`, config.annotations, ANNOTATION_LIMITS);
}
