/**
 * The bounds a connection enforces against hostile clients, and a token bucket for rates.
 */

/** Per-connection limits; every field has a default in DEFAULT_LIMITS. */
export interface ConnectionLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams beyond get REFUSED_STREAM. */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE (decoded, RFC 9113 6.5.2 accounting). */
  maxHeaderListBytes: number;
  /** Most encoded header block octets (HEADERS + CONTINUATION) before ENHANCE_YOUR_CALM. */
  maxHeaderBlockBytes: number;
  /** Most CONTINUATION frames in one header block (empty ones cost nothing else). */
  maxContinuationFrames: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we announce: how much a client may send per stream unacknowledged. */
  streamWindow: number;
  /** Connection receive window we keep open. */
  connectionWindow: number;
  /** Streams a client may reset (or have refused) in a burst before GOAWAY ENHANCE_YOUR_CALM... */
  resetBurst: number;
  /** ...refilled at this many per second (CVE-2023-44487, rapid reset). */
  resetsPerSecond: number;
  /** Control frames (PING/SETTINGS acks, RST_STREAM) queued while the socket is backed up. */
  maxQueuedControlFrames: number;
  /** Request message bytes held across all streams of a connection, waiting to be complete. */
  maxBufferedRequestBytes: number;
  /** Time for a new connection to send the preface and its SETTINGS. Idle connections afterwards stay. */
  prefaceTimeoutMs: number;
}

/** The limits berthd uses. */
export const DEFAULT_LIMITS: ConnectionLimits = {
  maxConcurrentStreams: 1000,
  maxHeaderListBytes: 64 * 1024,
  maxHeaderBlockBytes: 128 * 1024,
  maxContinuationFrames: 64,
  streamWindow: 1024 * 1024,
  connectionWindow: 4 * 1024 * 1024,
  resetBurst: 1000,
  resetsPerSecond: 100,
  maxQueuedControlFrames: 10000,
  maxBufferedRequestBytes: 64 * 1024 * 1024,
  prefaceTimeoutMs: 10_000,
};

/** A token bucket: `take()` is false when the bucket is empty. */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
