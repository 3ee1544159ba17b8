/**
 * Idempotent CreateContainer (docs/contributing.md, "Name reservation"): a kubelet retry after its deadline carries the same
 * config under the same reserved name `k8s_<container>_<pod>_<ns>_<uid>_<attempt>`. An identical
 * retry joins the create still in flight (or gets the finished container's id); the same name with
 * a different config is a real conflict (AlreadyExists naming the holder). A failed create
 * releases the name, so nothing stays reserved forever.
 */
import { AlreadyExistsError } from '../common/errors';

/** Creates in flight by reserved name. */
export class InflightCreates {
  private readonly byName = new Map<string, { fingerprint: string; work: Promise<string> }>();

  /** The in-flight create of `name` when the request is identical; AlreadyExists when it differs. */
  join(name: string, fingerprint: string): Promise<string> | undefined {
    const entry = this.byName.get(name);
    if (!entry) return undefined;
    if (entry.fingerprint !== fingerprint) throw new AlreadyExistsError(`container name ${name} is being created with a different config`);
    return entry.work;
  }

  /** Tracks `work` under `name` until it settles; returns it. */
  track(name: string, fingerprint: string, work: Promise<string>): Promise<string> {
    const tracked = work.finally(() => {
      if (this.byName.get(name)?.work === tracked) this.byName.delete(name);
    });
    this.byName.set(name, { fingerprint, work: tracked });
    return tracked;
  }
}

/** For a finished holder of the name: AlreadyExists unless the request is the same (unknown = same). */
export function assertSameCreate(name: string, holderId: string, holderFingerprint: string | undefined, fingerprint: string): void {
  if (holderFingerprint !== undefined && holderFingerprint !== fingerprint) {
    throw new AlreadyExistsError(`container name ${name} is reserved for container ${holderId}, created with a different config`);
  }
}
