/**
 * Registry authentication: parsing `WWW-Authenticate` challenges, turning a CRI AuthConfig into
 * credentials, and the Bearer token flow (distribution token spec, including the OAuth2
 * refresh-token grant for identity tokens). Credentials are never logged.
 */
import { InvalidArgumentError } from '../common/errors';

/** Credentials from the request's AuthConfig (all optional; none = anonymous). */
export interface RegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  /** base64("user:password"), as in Docker's config.json. */
  readonly auth?: string;
  /** OAuth2 refresh token for the token endpoint. */
  readonly identityToken?: string;
  /** A bearer token sent to the registry as is. */
  readonly registryToken?: string;
  /**
   * The registry these credentials are for (CRI AuthConfig.server_address: `host[:port]`, maybe
   * with a scheme and a path); empty means the registry the image reference names.
   */
  readonly serverAddress?: string;
}

/** Docker Hub's names for one registry: credentials for any of them are for all of them. */
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The canonical `host[:port]` of a registry address: scheme, path, default port and case
 * dropped, Docker Hub's aliases folded into `docker.io`. Undefined when nothing host-like is left.
 */
export function canonicalRegistryHost(address: string): string | undefined {
  const trimmed = address.trim();
  if (trimmed === '') return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (url.host === '' || url.username !== '' || url.password !== '') return undefined;
  const host = url.host.toLowerCase();
  return DOCKER_HUB_HOSTS.has(host) ? 'docker.io' : host;
}

/** One challenge from a WWW-Authenticate header. */
export interface AuthChallenge {
  readonly scheme: string; // lower case: 'basic' | 'bearer' | …
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a WWW-Authenticate header value into challenges (RFC 7235: comma-separated, quoted
 * strings with backslash escapes, several schemes in one header).
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < n) {
    skipWs();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const word = token();
    if (!word) {
      i++; // garbage: skip a character
      continue;
    }
    skipWs();
    if (header[i] === '=' && current) {
      i++;
      skipWs();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        const vs = i;
        while (i < n && header[i] !== ',' && header[i] !== ' ') i++;
        value = header.slice(vs, i);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** The username/password pair from `creds`, decoding `auth` when set. */
export function basicCredentials(creds: RegistryCredentials | undefined): { username: string; password: string } | undefined {
  if (!creds) return undefined;
  if (creds.username) return { username: creds.username, password: creds.password ?? '' };
  if (creds.auth) {
    const decoded = Buffer.from(creds.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new InvalidArgumentError('auth.auth: not base64 of "username:password"');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** The `Authorization: Basic …` value for a username/password pair. */
export function basicHeader(user: { username: string; password: string }): string {
  return 'Basic ' + Buffer.from(`${user.username}:${user.password}`, 'utf8').toString('base64');
}

/** The scope string a pull of `repository` asks the token server for. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** A token endpoint request: URL, method, headers and body to send. */
export interface TokenRequest {
  readonly url: URL;
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** Builds the token request for a Bearer challenge (GET with Basic, or POST refresh_token). */
export function buildTokenRequest(challenge: AuthChallenge, scope: string, creds: RegistryCredentials | undefined): TokenRequest {
  const realm = challenge.params['realm'];
  if (!realm) throw new InvalidArgumentError('authenticate: Bearer challenge without realm');
  let url: URL;
  try {
    url = new URL(realm);
  } catch (err) {
    throw new InvalidArgumentError(`authenticate: bad token realm ${JSON.stringify(realm)}`, { cause: err });
  }
  const service = challenge.params['service'];
  const scopes = [challenge.params['scope'], scope].filter((s): s is string => !!s);
  const uniqueScopes = [...new Set(scopes)];
  if (creds?.identityToken) {
    const form = new URLSearchParams();
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', creds.identityToken);
    form.set('client_id', 'berth');
    if (service) form.set('service', service);
    form.set('scope', uniqueScopes.join(' '));
    return { url, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() };
  }
  if (service) url.searchParams.set('service', service);
  for (const s of uniqueScopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = {};
  const basic = basicCredentials(creds);
  if (basic) {
    headers['authorization'] = basicHeader(basic);
    url.searchParams.set('account', basic.username);
  }
  return { url, method: 'GET', headers };
}

/** Reads the token out of a token endpoint's JSON answer. */
export function parseTokenResponse(body: Buffer): string {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError('authenticate: token response is not JSON', { cause: err });
  }
  const t = doc['token'] ?? doc['access_token'];
  if (typeof t !== 'string' || !t) throw new InvalidArgumentError('authenticate: token response has no token');
  return t;
}
