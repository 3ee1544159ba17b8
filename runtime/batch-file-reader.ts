/**
 * Collects the small-file reads issued in one turn of the event loop (every cgroup file of the
 * cgroups a stats collection has in flight) and reads them with one native readFiles call per
 * `chunk` files: one libuv pool job instead of three pool round trips per file.
 */
import type { CgroupFileReader } from './cgroup-stats';

/** Reads many files at once (NativeBinding.readFiles fits). */
export type ReadFiles = (paths: readonly string[], maxBytes: number) => Promise<Array<string | undefined>>;

/** No cgroup or /proc file the stats read comes close. */
const MAX_BYTES = 1 << 20;

interface Pending {
  path: string;
  resolve: (text: string | undefined) => void;
}

export class BatchFileReader {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly readFiles: ReadFiles,
    private readonly chunk = 256,
  ) {}

  /** The text of `file`, or undefined when unreadable; read together with the others asked for in this turn. */
  readonly read: CgroupFileReader = (file) =>
    new Promise((resolve) => {
      this.pending.push({ path: file, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    for (let i = 0; i < batch.length; i += this.chunk) {
      const part = batch.slice(i, i + this.chunk);
      this.readFiles(
        part.map((p) => p.path),
        MAX_BYTES,
      ).then(
        (texts) => part.forEach((p, j) => p.resolve(texts[j])),
        () => part.forEach((p) => p.resolve(undefined)),
      );
    }
  }
}
