/** What the image layer reports for metrics; the daemon implements it with prom-client. */
export interface ImageMetrics {
  /** A pull finished; `outcome` says whether it worked, `seconds` how long it took. */
  pullFinished(outcome: 'success' | 'failure', seconds: number): void;
  /** Compressed bytes received from registries. */
  bytesPulled(bytes: number): void;
  /** A pull step finished: the manifest fetch (with the config), or one layer's download and unpack (`layerDigest`). */
  pullStep?(step: ImagePullStep, seconds: number, ok: boolean, layerDigest?: string): void;
}

/** The timed steps of a pull. */
export type ImagePullStep = 'manifest fetch' | 'layer';

/** Metrics that go nowhere (tests, tools). */
export const noImageMetrics: ImageMetrics = {
  pullFinished() {},
  bytesPulled() {},
};
