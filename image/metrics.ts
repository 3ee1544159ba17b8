/** What the image layer reports for metrics; the daemon implements it with prom-client. */
export interface ImageMetrics {
  /** A pull finished; `outcome` says whether it worked, `seconds` how long it took. */
  pullFinished(outcome: 'success' | 'failure', seconds: number): void;
  /** Compressed bytes received from registries. */
  bytesPulled(bytes: number): void;
}

/** Metrics that go nowhere (tests, tools). */
export const noImageMetrics: ImageMetrics = {
  pullFinished() {},
  bytesPulled() {},
};
