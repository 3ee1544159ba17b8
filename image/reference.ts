/**
 * Image references with Docker's normalisation (distribution/reference): `busybox` →
 * `docker.io/library/busybox:latest`, `host:5000/a/b:tag`, `name@sha256:…`, `name:tag@digest`.
 */
import { InvalidArgumentError } from '../common/errors';

export const DEFAULT_DOMAIN = 'docker.io';
const DEFAULT_TAG = 'latest';

/** A parsed, normalised reference. */
export interface ImageReference {
  /** Registry host (with port), e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly path: string;
  /** Tag; undefined when the reference only has a digest. */
  readonly tag?: string;
  /** `algo:hex` digest, when pinned. */
  readonly digest?: string;
  /** True when the input named no registry (a short name). */
  readonly shortName: boolean;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const DOMAIN_RE = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** True when `s` is a registry host as references name it (`host[:port]`, `[v6]:port`). */
export function isRegistryHost(s: string): boolean {
  return s.length > 0 && s.length <= 255 && DOMAIN_RE.test(s);
}

/** True when `s` is a well-formed digest (sha256 strictly checked). */
export function isDigest(s: string): boolean {
  if (!DIGEST_RE.test(s)) return false;
  if (s.startsWith('sha256:')) return SHA256_RE.test(s);
  return s.startsWith('sha512:') && /^sha512:[a-f0-9]{128}$/.test(s);
}

/**
 * Parses `input` into a normalised reference; `field` names the request field in errors.
 * A short name gets `defaultDomain` (docker.io adds `library/` for single components).
 */
export function parseReference(input: string, field = 'image', defaultDomain = DEFAULT_DOMAIN): ImageReference {
  const bad = (why: string): never => {
    // Hostile input can be long: the message (and so the log) quotes at most its first 256 characters.
    const quoted = typeof input === 'string' && input.length > 256 ? `${JSON.stringify(input.slice(0, 256))}… (${input.length} characters)` : JSON.stringify(input);
    throw new InvalidArgumentError(`${field}: invalid image reference ${quoted}: ${why}`);
  };
  if (typeof input !== 'string' || input.length === 0) bad('empty');
  if (input.length > 4096) bad('too long');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) bad(`bad digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) bad(`bad tag ${JSON.stringify(tag)}`);
  }
  if (rest.length === 0) bad('missing repository name');
  let domain: string;
  let path: string;
  let shortName = false;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    domain = first;
    path = rest.slice(slash + 1);
    if (!DOMAIN_RE.test(domain)) bad(`bad registry host ${JSON.stringify(domain)}`);
  } else {
    domain = defaultDomain;
    path = rest;
    shortName = true;
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (/[A-Z]/.test(path)) bad('repository name must be lowercase');
  if (!PATH_RE.test(path)) bad(`bad repository name ${JSON.stringify(path)}`);
  if ((domain + '/' + path).length > 255) bad('repository name longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, tag, digest, shortName };
}

/** `domain/path`, the repository name. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** `domain/path:tag`, or undefined for a digest-only reference. */
export function taggedName(ref: ImageReference): string | undefined {
  return ref.tag === undefined ? undefined : `${repositoryOf(ref)}:${ref.tag}`;
}

/** `domain/path@digest` for a given manifest digest. */
export function digestedName(ref: ImageReference, digest: string): string {
  return `${repositoryOf(ref)}@${digest}`;
}

/** The full normalised string (`name:tag`, `name@digest` or `name:tag@digest`). */
export function formatReference(ref: ImageReference): string {
  let s = repositoryOf(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The same reference moved to another registry host (a search-registry candidate). */
export function withDomain(ref: ImageReference, domain: string): ImageReference {
  let path = ref.path;
  if (domain !== DEFAULT_DOMAIN && ref.domain === DEFAULT_DOMAIN && path.startsWith('library/') && ref.shortName) {
    path = path.slice('library/'.length);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { ...ref, domain, path };
}
