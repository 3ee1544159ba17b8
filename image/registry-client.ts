/**
 * A client for one registry endpoint speaking the OCI distribution API over node:http(s):
 * manifests and blobs, anonymous/Basic/Bearer auth from the registry's challenge, redirects to
 * blob storage, HTTPS with system CAs plus `<certsDir>/<host>/*.crt`, HTTP only for insecure
 * registries and localhost.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  RuntimeError,
  UnavailableError,
} from '../common/errors';
import type { Logger } from '../common/logger';
import {
  AuthChallenge,
  RegistryCredentials,
  basicCredentials,
  basicHeader,
  buildTokenRequest,
  parseTokenResponse,
  parseWwwAuthenticate,
  pullScope,
} from './registry-auth';
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from './manifest';

export interface RegistryClientOptions {
  readonly host: string;
  readonly insecure: boolean;
  readonly credentials?: RegistryCredentials;
  readonly logger: Logger;
  /** Per-host CA directories, `/etc/containers/certs.d` by default. */
  readonly certsDir?: string;
  readonly signal?: AbortSignal;
}

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const httpsAgents = new Map<string, https.Agent>();
/** Hosts found to speak plain HTTP (insecure/localhost only), so later pulls skip the TLS try. */
const plainHttpHosts = new Set<string>();

const USER_AGENT = 'berth/0.1';
const MAX_REDIRECTS = 5;

/** True for registries on the loopback interface, where plain HTTP is allowed. */
export function isLocalhost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** True when a TLS attempt failed because the server answered in plain text (or hung up). */
function speaksNoTls(err: unknown): boolean {
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  const code = cause?.code ?? '';
  return code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ECONNRESET' || /wrong version number/i.test(cause?.message ?? '');
}

function httpsAgentFor(host: string, insecure: boolean, certsDir: string): https.Agent {
  const key = `${host}|${insecure}|${certsDir}`;
  let agent = httpsAgents.get(key);
  if (!agent) {
    const extra: string[] = [];
    const dir = path.join(certsDir, host);
    try {
      for (const f of readdirSync(dir)) if (f.endsWith('.crt')) extra.push(readFileSync(path.join(dir, f), 'utf8'));
    } catch {
      // no per-host CAs: system CAs only
    }
    agent = new https.Agent({
      keepAlive: true,
      maxSockets: 16,
      ca: extra.length > 0 ? [...tls.rootCertificates, ...extra] : undefined,
      rejectUnauthorized: !insecure,
    });
    httpsAgents.set(key, agent);
  }
  return agent;
}

/** A fetched response whose body has not been read yet. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: http.IncomingMessage;
}

/** Reads a whole body, refusing more than `limit` bytes. */
export async function readLimited(body: NodeJS.ReadableStream & { destroy(): void }, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      body.destroy();
      throw new FailedPreconditionError(`read ${what}: larger than the ${limit}-byte limit`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class RegistryClient {
  private authorization: string | undefined;
  private readonly allowPlain: boolean;
  private readonly certsDir: string;

  constructor(private readonly opts: RegistryClientOptions) {
    this.allowPlain = opts.insecure || isLocalhost(opts.host);
    this.certsDir = opts.certsDir ?? '/etc/containers/certs.d';
    if (opts.credentials?.registryToken) this.authorization = `Bearer ${opts.credentials.registryToken}`;
  }

  get host(): string {
    return this.opts.host;
  }

  /** Fetches a manifest by tag or digest; returns the raw body and its content type. */
  async getManifest(repository: string, reference: string): Promise<{ body: Buffer; contentType: string; digestHeader?: string }> {
    const res = await this.get(repository, `/v2/${repository}/manifests/${reference}`, MANIFEST_ACCEPT);
    const body = await readLimited(res.body, MAX_MANIFEST_BYTES, `manifest ${repository}:${reference}`);
    const dh = res.headers['docker-content-digest'];
    return { body, contentType: String(res.headers['content-type'] ?? ''), digestHeader: typeof dh === 'string' ? dh : undefined };
  }

  /**
   * Opens a blob for streaming; the caller verifies size and digest. `signal` (default: the
   * client's) aborts it: a download shared by several pulls outlives the pull that started it.
   */
  async openBlob(repository: string, digest: string, signal?: AbortSignal): Promise<RegistryResponse> {
    return this.get(repository, `/v2/${repository}/blobs/${digest}`, '*/*', signal ?? this.opts.signal);
  }

  /** GET with auth, redirects and status mapping; resolves with a 200 response. */
  private async get(repository: string, urlPath: string, accept: string, signal = this.opts.signal): Promise<RegistryResponse> {
    let res = await this.requestWithScheme(urlPath, accept, this.authorization, signal);
    if (res.status === 401) {
      res.body.resume();
      await this.authenticate(res.headers['www-authenticate'], repository, signal);
      res = await this.requestWithScheme(urlPath, accept, this.authorization, signal);
    }
    let redirects = 0;
    while (res.status >= 300 && res.status < 400 && res.headers.location) {
      res.body.resume();
      if (++redirects > MAX_REDIRECTS) throw new UnavailableError(`fetch ${this.opts.host}${urlPath}: too many redirects`);
      const target = new URL(res.headers.location, res.url);
      // Blob storage (S3 etc.) uses its own signed URLs: never send our registry credentials there.
      const sameHost = target.host === this.opts.host;
      res = await this.rawRequest(target, accept, sameHost && this.mayCarryCredentials(target) ? this.authorization : undefined, signal);
    }
    if (res.status === 200) return res;
    const text = (await readLimited(res.body, 64 * 1024, 'error body').catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 500);
    const where = `${this.opts.host}${urlPath}`;
    switch (res.status) {
      case 401:
      case 403:
        throw new FailedPreconditionError(`fetch ${where}: access denied (HTTP ${res.status}); check the pull credentials: ${text}`);
      case 404:
        throw new NotFoundError(`fetch ${where}: not found (HTTP 404): ${text}`);
      case 429:
      case 502:
      case 503:
      case 504:
        throw new UnavailableError(`fetch ${where}: registry unavailable (HTTP ${res.status}): ${text}`);
      default:
        throw new RuntimeError(`fetch ${where}: unexpected HTTP ${res.status}: ${text}`);
    }
  }

  /** Answers a 401 challenge: Basic from the credentials or a Bearer token from the realm. */
  private async authenticate(header: string | undefined, repository: string, signal: AbortSignal | undefined): Promise<void> {
    const challenges: AuthChallenge[] = header ? parseWwwAuthenticate(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      let req = buildTokenRequest(bearer, pullScope(repository), this.opts.credentials);
      if (this.opts.credentials && !this.mayCarryCredentials(req.url)) {
        // A plain-HTTP token server elsewhere would see the password in clear (and a registry could
        // point its realm anywhere): ask it for an anonymous token instead.
        this.opts.logger.warn('not sending credentials to a plain-HTTP token server on another host', { realm: req.url.host, registry: this.opts.host });
        req = buildTokenRequest(bearer, pullScope(repository), undefined);
      }
      const res = await this.rawRequest(req.url, 'application/json', req.headers['authorization'], signal, req.method, req.body, req.headers);
      const body = await readLimited(res.body, 1024 * 1024, 'token response');
      if (res.status !== 200) {
        throw new FailedPreconditionError(`authenticate to ${this.opts.host}: token server ${req.url.host} answered HTTP ${res.status}`);
      }
      this.authorization = `Bearer ${parseTokenResponse(body)}`;
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const user = basicCredentials(this.opts.credentials);
      if (!user) throw new FailedPreconditionError(`authenticate to ${this.opts.host}: registry requires credentials and none were given`);
      this.authorization = basicHeader(user);
      return;
    }
    throw new FailedPreconditionError(`authenticate to ${this.opts.host}: unsupported or missing WWW-Authenticate challenge`);
  }

  /**
   * True when credentials may travel to `url`: over HTTPS anywhere (token servers live on other
   * hosts, e.g. Docker Hub's), over plain HTTP only to this registry when it is allowed plain HTTP.
   */
  private mayCarryCredentials(url: URL): boolean {
    if (url.protocol === 'https:') return true;
    return this.allowPlain && url.host === this.opts.host;
  }

  /** A request to our registry host: HTTPS first, plain HTTP where allowed and HTTPS fails. */
  private async requestWithScheme(
    urlPath: string,
    accept: string,
    authorization: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RegistryResponse & { url: URL }> {
    const host = this.opts.host;
    if (this.allowPlain && plainHttpHosts.has(host)) {
      return this.rawRequest(new URL(`http://${host}${urlPath}`), accept, authorization, signal);
    }
    try {
      return await this.rawRequest(new URL(`https://${host}${urlPath}`), accept, authorization, signal);
    } catch (err) {
      // Fall back only when the server does not speak TLS at all; a certificate problem on an
      // HTTPS server must never downgrade to plain HTTP.
      if (!this.allowPlain || signal?.aborted || !speaksNoTls(err)) throw err;
      const res = await this.rawRequest(new URL(`http://${host}${urlPath}`), accept, authorization, signal);
      plainHttpHosts.add(host);
      this.opts.logger.debug('registry speaks plain HTTP', { host });
      return res;
    }
  }

  private rawRequest(
    url: URL,
    accept: string,
    authorization: string | undefined,
    signal: AbortSignal | undefined,
    method = 'GET',
    body?: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<RegistryResponse & { url: URL }> {
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') throw new InvalidArgumentError(`fetch ${url.host}: unsupported scheme ${url.protocol}`);
    const headers: Record<string, string> = { ...extraHeaders, accept, 'user-agent': USER_AGENT };
    if (authorization) headers['authorization'] = authorization;
    else delete headers['authorization'];
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const agent = isHttps ? httpsAgentFor(url.host, this.opts.insecure, this.certsDir) : httpAgent;
    const mod = isHttps ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent, signal, timeout: 60_000 }, (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
      });
      req.on('timeout', () => req.destroy(new UnavailableError(`fetch ${url.host}${url.pathname}: timed out`)));
      req.on('error', (err) => reject(new UnavailableError(`connect to ${url.protocol}//${url.host}`, { cause: err })));
      req.end(body);
    });
  }
}
