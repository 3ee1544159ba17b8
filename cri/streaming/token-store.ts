/**
 * Single-use, short-lived tokens naming a pending streaming request, as kubelet's request cache:
 * crypto-random and URL-safe, expiring after a minute, bounded in number so a flood of Exec RPCs
 * cannot grow memory without limit.
 */
import { randomBytes } from 'node:crypto';
import { ResourceExhaustedError } from '../../common/errors';
import type { SessionRequest } from './requests';

export interface TokenStoreOptions {
  ttlMs?: number;
  maxInFlight?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class TokenStore {
  private readonly entries = new Map<string, { request: SessionRequest; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;

  constructor(opts: TokenStoreOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxInFlight = opts.maxInFlight ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Stores `request` and returns its token; ResourceExhaustedError when too many are pending. */
  insert(request: SessionRequest): string {
    this.evictExpired();
    if (this.entries.size >= this.maxInFlight) {
      throw new ResourceExhaustedError(`issue streaming token: ${this.entries.size} requests already pending`);
    }
    const token = randomBytes(24).toString('base64url');
    this.entries.set(token, { request, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** Removes and returns the request of a live token; undefined for unknown, used or expired ones. */
  consume(token: string): SessionRequest | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (entry.expiresAt <= this.now()) return undefined;
    return entry.request;
  }

  /** Number of live tokens. */
  get size(): number {
    this.evictExpired();
    return this.entries.size;
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(token);
  }
}
