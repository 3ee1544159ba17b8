/**
 * Per-key revision numbers for an in-memory store of records, so readers can cache what they
 * derive from a record (a status view, its encoding) until the record changes: every write gets a
 * new number, unique across keys, and the total count changes on every write and delete.
 */
export class Revisions {
  private readonly byKey = new Map<string, number>();
  private changes = 0;

  /** A record of `key` was written. */
  written(key: string): void {
    this.byKey.set(key, ++this.changes);
  }

  /** The record of `key` was deleted. */
  deleted(key: string): void {
    this.byKey.delete(key);
    this.changes++;
  }

  /** Changes whenever the record of `key` is written (0 for one loaded at start and never written since). */
  of(key: string): number {
    return this.byKey.get(key) ?? 0;
  }

  /** Changes whenever any record is written or deleted. */
  count(): number {
    return this.changes;
  }
}
