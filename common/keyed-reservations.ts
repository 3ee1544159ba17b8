/**
 * Keyed reservations for idempotent creates (docs/contributing.md, "Name reservation"): a reserved
 * name such as `k8s_<name>_<namespace>_<uid>_<attempt>` maps to one id. A kubelet retry (after its
 * deadline passed while we were still working) must find the in-flight or finished object, never
 * build a second one. Pods and containers both use it.
 *
 * A retry whose request fingerprint is identical WAITS for the in-flight creation and gets its id,
 * so it never sees an error at all (cri-o and containerd answer "name is reserved" and let kubelet
 * retry). The same name with a different fingerprint is a real conflict: AlreadyExistsError naming
 * the holder. A failed creation releases the name, so nothing stays reserved forever.
 */
import { AlreadyExistsError } from './errors';

type Entry = { id: string; fingerprint: string | undefined; done: Promise<string> | undefined };

/** Names in use, with the creation still running for in-flight ones. */
export class KeyedReservations {
  private readonly byKey = new Map<string, Entry>();

  /** `kind` names the reserved objects in conflict messages ("pod sandbox", "container"). */
  constructor(private readonly kind: string) {}

  /**
   * Returns the id already reserved under `key` (waiting for an in-flight creation to finish, and
   * rejecting with its error if it fails), or reserves `key` for `newId` and runs `create`.
   * The reservation is taken synchronously, before `create` is called.
   * `fingerprint` identifies the request: a holder with a different one is a conflict
   * (AlreadyExistsError); an unknown fingerprint on either side is not compared.
   */
  async reserveOrJoin(
    key: string,
    newId: string,
    create: () => Promise<void>,
    fingerprint?: string,
  ): Promise<{ id: string; created: boolean }> {
    const existing = this.byKey.get(key);
    if (existing) {
      if (fingerprint !== undefined && existing.fingerprint !== undefined && fingerprint !== existing.fingerprint) {
        const state = existing.done ? 'being created' : 'created';
        throw new AlreadyExistsError(`${this.kind} name ${key} is reserved for ${this.kind} ${existing.id}, ${state} with a different config`);
      }
      const id = existing.done ? await existing.done : existing.id;
      return { id, created: false };
    }
    const entry: Entry = { id: newId, fingerprint, done: undefined };
    this.byKey.set(key, entry);
    entry.done = (async () => {
      try {
        await create();
        entry.done = undefined;
        return newId;
      } catch (err) {
        if (this.byKey.get(key) === entry) this.byKey.delete(key);
        throw err;
      }
    })();
    await entry.done;
    return { id: newId, created: true };
  }

  /** Records `key` as taken by a finished object (recovery after restart). */
  claim(key: string, id: string, fingerprint?: string): void {
    this.byKey.set(key, { id, fingerprint, done: undefined });
  }

  /** Frees `key` if it belongs to `id`. */
  release(key: string, id: string): void {
    const entry = this.byKey.get(key);
    if (entry && entry.id === id) this.byKey.delete(key);
  }

  /** The id holding `key` (in flight or finished), if any. */
  lookup(key: string): string | undefined {
    return this.byKey.get(key)?.id;
  }
}
