/**
 * Pod name reservation (docs/contributing.md, "Name reservation"): `k8s_<name>_<namespace>_<uid>_<attempt>` maps to one
 * sandbox id. A kubelet retry of RunPodSandbox (after its deadline passed while we were still
 * working) must find the in-flight or finished sandbox, never build a second one.
 *
 * Choice (cri-o answers "name is reserved" while in flight and lets kubelet retry; containerd
 * fails the same way): a retry whose config is identical WAITS for the in-flight creation and gets
 * its id, so it never sees an error at all. A request with the same name but a different config
 * is a real conflict and gets AlreadyExistsError naming the holder. A failed creation releases the
 * name, so nothing stays reserved forever.
 */
import { AlreadyExistsError } from '../common/errors';

export { configFingerprint } from '../runtime/config-fingerprint';

type Entry = { id: string; fingerprint: string | undefined; done: Promise<string> | undefined };

/** Names in use, with the creation still running for in-flight ones. */
export class NameReservations {
  private readonly byName = new Map<string, Entry>();

  /**
   * Returns the id already reserved under `name` (waiting for an in-flight creation to finish, and
   * rejecting with its error if it fails), or reserves `name` for `newId` and runs `create`.
   * `fingerprint` identifies the request's config: a holder with a different one is a conflict
   * (AlreadyExistsError); an unknown fingerprint on either side is not compared.
   */
  async reserveOrJoin(
    name: string,
    newId: string,
    create: () => Promise<void>,
    fingerprint?: string,
  ): Promise<{ id: string; created: boolean }> {
    const existing = this.byName.get(name);
    if (existing) {
      if (fingerprint !== undefined && existing.fingerprint !== undefined && fingerprint !== existing.fingerprint) {
        throw new AlreadyExistsError(`pod sandbox name ${name} is reserved for sandbox ${existing.id}, created with a different config`);
      }
      const id = existing.done ? await existing.done : existing.id;
      return { id, created: false };
    }
    const entry: Entry = { id: newId, fingerprint, done: undefined };
    this.byName.set(name, entry);
    entry.done = (async () => {
      try {
        await create();
        entry.done = undefined;
        return newId;
      } catch (err) {
        if (this.byName.get(name) === entry) this.byName.delete(name);
        throw err;
      }
    })();
    await entry.done;
    return { id: newId, created: true };
  }

  /** Records a name as taken by a finished sandbox (recovery after restart). */
  claim(name: string, id: string, fingerprint?: string): void {
    this.byName.set(name, { id, fingerprint, done: undefined });
  }

  /** Frees `name` if it belongs to `id`. */
  release(name: string, id: string): void {
    const entry = this.byName.get(name);
    if (entry && entry.id === id) this.byName.delete(name);
  }

  /** The id holding `name`, if any. */
  lookup(name: string): string | undefined {
    return this.byName.get(name)?.id;
  }
}
