/**
 * Pod name reservation (CONVENTIONS 6): `k8s_<name>_<namespace>_<uid>_<attempt>` maps to one
 * sandbox id. A kubelet retry of RunPodSandbox (after its deadline passed while we were still
 * working) must find the in-flight or finished sandbox, never build a second one.
 */

type Entry = { id: string; done: Promise<string> | undefined };

/** Names in use, with the creation still running for in-flight ones. */
export class NameReservations {
  private readonly byName = new Map<string, Entry>();

  /**
   * Returns the id already reserved under `name` (waiting for an in-flight creation to finish, and
   * rejecting with its error if it fails), or reserves `name` for `newId` and runs `create`.
   * A failed creation releases the name.
   */
  async reserveOrJoin(name: string, newId: string, create: () => Promise<void>): Promise<{ id: string; created: boolean }> {
    const existing = this.byName.get(name);
    if (existing) {
      const id = existing.done ? await existing.done : existing.id;
      return { id, created: false };
    }
    const entry: Entry = { id: newId, done: undefined };
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
  claim(name: string, id: string): void {
    this.byName.set(name, { id, done: undefined });
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
