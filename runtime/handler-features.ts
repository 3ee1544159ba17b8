/**
 * What each runtime handler can do on this host, reported to kubelet through Status and used by
 * the spec builder. Recursive read-only mounts need mount_setattr(2) with AT_RECURSIVE (Linux
 * 5.12) and a runtime that knows the `rro` mount option: runc 1.1 and crun 1.4 onwards. User
 * namespaces need idmapped mounts of berth's root filesystem (probed at start, userns-support.ts:
 * berth makes the idmapped layers itself) and runc 1.1 onwards, which joins the pod's pinned user
 * namespace and opens bind sources before entering it.
 */
import * as os from 'node:os';

/** One handler's features, as CRI RuntimeHandlerFeatures names them. */
export interface HandlerFeatures {
  recursiveReadOnlyMounts: boolean;
  userNamespaces: boolean;
}

/** The runtime's name and version from the first line of `<runtime> --version`. */
export function parseRuntimeVersion(text: string): { name: string; major: number; minor: number } | undefined {
  const m = /^(\S+)\s+version\s+v?(\d+)\.(\d+)/m.exec(text);
  return m ? { name: m[1].toLowerCase(), major: Number(m[2]), minor: Number(m[3]) } : undefined;
}

/** True when the runtime named in `versionText` understands the `rro` mount option. Unknown: no. */
export function runtimeSupportsRro(versionText: string | undefined): boolean {
  const v = versionText === undefined ? undefined : parseRuntimeVersion(versionText);
  if (!v) return false;
  const atLeast = (major: number, minor: number): boolean => v.major > major || (v.major === major && v.minor >= minor);
  if (v.name === 'runc') return atLeast(1, 1);
  if (v.name === 'crun') return atLeast(1, 4);
  return false;
}

/** True when `release` (uname -r) is at least major.minor. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/** True when the runtime named in `versionText` runs containers joining a pinned user namespace (runc 1.1+ only: checked). */
function runtimeJoinsUserNamespaces(versionText: string | undefined): boolean {
  const v = versionText === undefined ? undefined : parseRuntimeVersion(versionText);
  return v !== undefined && v.name === 'runc' && (v.major > 1 || (v.major === 1 && v.minor >= 1));
}

/** The features of a handler whose `--version` printed `versionText`, on a kernel of `release` (idmapped mounts as probed). */
export function handlerFeatures(versionText: string | undefined, release: string, idmappedMounts = false): HandlerFeatures {
  return {
    recursiveReadOnlyMounts: kernelAtLeast(release, 5, 12) && runtimeSupportsRro(versionText),
    userNamespaces: idmappedMounts && runtimeJoinsUserNamespaces(versionText),
  };
}

/** Features per handler name, the default handler's also under '' (as kubelet looks it up); `fallback` for a handler nobody detected. */
export function featuresByHandler(names: string[], defaultHandler: string, known: Record<string, HandlerFeatures>, fallback: HandlerFeatures): Record<string, HandlerFeatures> {
  const out: Record<string, HandlerFeatures> = {};
  for (const name of names) out[name] = known[name] ?? fallback;
  out[''] = out[defaultHandler] ?? fallback;
  return out;
}

/** Asks every configured handler's runtime for its version; a binary that does not answer gets no features. */
export async function detectHandlerFeatures(runtimes: Record<string, { version(): Promise<string | undefined> }>, release = os.release(), idmappedMounts = false): Promise<Record<string, HandlerFeatures>> {
  const entries = await Promise.all(
    Object.entries(runtimes).map(async ([name, rt]) => {
      const text = await rt.version();
      return [name, handlerFeatures(text, release, idmappedMounts)] as const;
    }),
  );
  return Object.fromEntries(entries);
}
