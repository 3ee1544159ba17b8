/**
 * The runc binary conmon runs: a sealed in-memory copy (native sealedCopy) instead of the file.
 * `runc create` and `runc exec` re-execute runc as `runc init`, and runc init first copies its own
 * ~9 MB binary into a new memfd — its guard against a container rewriting the host's runc through
 * /proc/<pid>/exe — unless it already runs from a memfd sealed against writes. One sealed copy per
 * binary keeps that guard (nothing can write the copy, berthd included) and saves the copy, ~5 ms
 * of CPU and 9 MB of memory, on every container start. Each use also stats the file, off the
 * launch's path: an upgraded runc is copied again and runs from the next launch on.
 */
import { close, promises as fs } from 'node:fs';

/** Makes the sealed copy and returns its fd (native sealedCopy). */
export type SealedCopier = (file: string) => Promise<number>;

/** An old copy stays open this long, for a conmon that got its path but has not run it yet. */
const OLD_COPY_CLOSE_DELAY_MS = 60_000;

/** The sealed copy of one binary, refreshed when the file changes. */
export class SealedBinary {
  private current: { key: string; fd: number; path: string } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly file: string,
    private readonly copier: SealedCopier,
    /** Told (once per change of the file) why the file itself is run. */
    private readonly onFallback: (reason: string) => void,
    private readonly fdDir = `/proc/${process.pid}/fd`,
  ) {}

  /**
   * The path to execute: the copy's /proc path, or the file itself when no copy can be made. Once
   * a copy exists it is returned at once and the file's check runs behind it.
   */
  async path(): Promise<string> {
    if (this.current) {
      this.pending ??= this.check().finally(() => (this.pending = undefined));
      return this.current.path;
    }
    this.pending ??= this.check().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Copies the file again when it is not the one copied; the path to execute now. */
  private async check(): Promise<string> {
    let key: string;
    try {
      const st = await fs.stat(this.file);
      key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch {
      return this.file; // the runtime's own start reports what is wrong with it
    }
    if (this.current?.key === key) return this.current.path;
    return this.refresh(key);
  }

  /** Closes the copy (containers already running are not affected). */
  dispose(): void {
    if (this.current && this.current.fd >= 0) close(this.current.fd, () => undefined);
    this.current = undefined;
  }

  private async refresh(key: string): Promise<string> {
    const old = this.current;
    try {
      const fd = await this.copier(this.file);
      this.current = { key, fd, path: `${this.fdDir}/${fd}` };
    } catch (err) {
      // Remembered for this version of the file: no copy attempt per container.
      this.current = { key, fd: -1, path: this.file };
      this.onFallback(err instanceof Error ? err.message : String(err));
    }
    if (old && old.fd >= 0) setTimeout(() => close(old.fd, () => undefined), OLD_COPY_CLOSE_DELAY_MS).unref();
    return this.current.path;
  }
}
