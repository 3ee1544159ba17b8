/**
 * A stack of undo steps for multi-step creation (docs/contributing.md, "Cleanup stacks"). Steps are undone newest first;
 * undo runs under its own timeout, and its failures are joined to the original error.
 */
export interface UndoStep {
  readonly what: string;
  readonly undo: () => Promise<void> | void;
}

/** Collects undo steps while an object is built; `unwind` runs them if a later step fails. */
export class CleanupStack {
  private readonly steps: UndoStep[] = [];

  /** Registers the undo of a step that just succeeded. */
  push(what: string, undo: () => Promise<void> | void): void {
    this.steps.push({ what, undo });
  }

  /** Forgets every step: the object is complete and owned by its store now. */
  release(): void {
    this.steps.length = 0;
  }

  /** Undoes every step newest first; returns the failures (never throws). */
  async unwind(timeoutMs = 30_000): Promise<Error[]> {
    const failures: Error[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await withTimeout(Promise.resolve().then(step.undo), timeoutMs, `undo ${step.what}`);
      } catch (err) {
        failures.push(new Error(`undo ${step.what}`, { cause: err }));
      }
    }
    return failures;
  }

  /**
   * Runs `build` with this stack; on failure unwinds and rethrows the original error, with undo
   * failures attached as an AggregateError cause when there are any.
   */
  static async run<T>(build: (stack: CleanupStack) => Promise<T>, timeoutMs = 30_000): Promise<T> {
    const stack = new CleanupStack();
    try {
      const result = await build(stack);
      stack.release();
      return result;
    } catch (err) {
      const failures = await stack.unwind(timeoutMs);
      if (failures.length > 0 && err instanceof Error) {
        (err as Error & { undoFailures?: Error[] }).undoFailures = failures;
        err.message += ` (and cleanup failed: ${failures.map((f) => `${f.message}: ${String((f.cause as Error)?.message ?? f.cause)}`).join('; ')})`;
      }
      throw err;
    }
  }
}

/** Rejects with a timeout error when `p` takes longer than `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
