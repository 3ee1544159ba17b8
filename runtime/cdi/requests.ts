/**
 * The CDI devices a CreateContainer asks for: CRI's `cdi_devices` and the `cdi.k8s.io/<any>`
 * annotations (comma-separated fully-qualified names), as containerd and cri-o read them. Pure;
 * both are hostile input, so counts and names are checked before any file is read.
 */
import { InvalidArgumentError } from '../../common/errors';
import { MAX_QUALIFIED_NAME, parseQualifiedName } from './names';
import type { CdiRequest } from './types';

/** The annotation prefix of CDI device requests. */
const CDI_ANNOTATION_PREFIX = 'cdi.k8s.io/';
/** Most CDI devices one container may request (cdi_devices and annotations together). */
export const MAX_CDI_REQUESTS = 128;

/** The requested devices in request order (cdi_devices first), each once; InvalidArgument names the field. */
export function cdiRequests(cdiDevices: readonly string[], annotations: Readonly<Record<string, string>>): CdiRequest[] {
  const out: CdiRequest[] = [];
  const seen = new Set<string>();
  const add = (name: string, field: string) => {
    if (!parseQualifiedName(name)) {
      const shown = name.length > MAX_QUALIFIED_NAME ? `${JSON.stringify(name.slice(0, 64))}… (${name.length} characters)` : JSON.stringify(name);
      throw new InvalidArgumentError(`${field}: ${shown} is not a fully-qualified CDI device name (vendor.com/class=name)`);
    }
    if (seen.has(name)) return;
    if (out.length >= MAX_CDI_REQUESTS) throw new InvalidArgumentError(`${field}: more than ${MAX_CDI_REQUESTS} CDI devices requested`);
    seen.add(name);
    out.push({ name, field });
  };
  if (cdiDevices.length > MAX_CDI_REQUESTS) throw new InvalidArgumentError(`cdi_devices: ${cdiDevices.length} entries, at most ${MAX_CDI_REQUESTS}`);
  cdiDevices.forEach((name, i) => add(name, `cdi_devices[${i}]`));
  for (const key of Object.keys(annotations).sort()) {
    if (!key.startsWith(CDI_ANNOTATION_PREFIX)) continue;
    const field = `annotations[${JSON.stringify(key)}]`;
    const value = annotations[key];
    if (value.length > MAX_CDI_REQUESTS * (MAX_QUALIFIED_NAME + 1)) throw new InvalidArgumentError(`${field}: value longer than ${MAX_CDI_REQUESTS * (MAX_QUALIFIED_NAME + 1)} characters`);
    for (const part of value.split(',')) {
      const name = part.trim();
      if (name !== '') add(name, field);
    }
  }
  return out;
}
