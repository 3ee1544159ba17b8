/**
 * Pulling one image: resolve the name to candidate endpoints (search registries for short names,
 * mirrors before the registry), negotiate the manifest (index → platform manifest), fetch and
 * verify the config, then hand layers to the storage, which streams each blob from the registry
 * through digest verification into the unpacker. The image keeps the name it was asked for.
 */
import { performance } from 'node:perf_hooks';
import { ErrorKind, FailedPreconditionError, NotFoundError, errorKindOf, errorOfKind } from '../common/errors';
import type { Logger } from '../common/logger';
import { sha256Digest } from './content-store';
import { ImageStorage } from './image-storage';
import type { ImageRecord } from './image-store';
import type { ImagePullStep } from './metrics';
import { MAX_MANIFEST_BYTES, Platform, parseManifest, selectPlatformManifest, ImageManifest } from './manifest';
import { ImageReference, digestedName, formatReference, taggedName, withDomain } from './reference';
import { RegistriesConfig, pullEndpoints, searchRegistries, PullEndpoint } from './registries-config';
import { canonicalRegistryHost, type RegistryCredentials } from './registry-auth';
import { RegistryClient, readLimited } from './registry-client';

export interface PullOptions {
  readonly credentials?: RegistryCredentials;
  readonly signal?: AbortSignal;
  /** Called with every compressed byte count received (for metrics). */
  readonly onBytes?: (n: number) => void;
  /** Called when a step ends: the manifest fetch, each layer's download and unpack (for metrics and spans). */
  readonly onStep?: (step: ImagePullStep, seconds: number, ok: boolean, layerDigest?: string) => void;
}

export interface ImagePullerOptions {
  readonly storage: ImageStorage;
  readonly registries: () => RegistriesConfig;
  readonly logger: Logger;
  readonly certsDir?: string;
  readonly platform?: Platform;
}

/** The names an image pulled as `ref` gets: its tag and its digest reference. */
function namesFor(ref: ImageReference, manifestDigest: string): { repoTags: string[]; repoDigests: string[] } {
  const tag = taggedName(ref);
  return { repoTags: tag ? [tag] : [], repoDigests: [digestedName(ref, manifestDigest)] };
}

export class ImagePuller {
  constructor(private readonly opts: ImagePullerOptions) {}

  /** Pulls `ref` (already normalised) and returns the stored record. */
  async pull(ref: ImageReference, options: PullOptions = {}): Promise<ImageRecord> {
    const candidates = ref.shortName ? searchRegistries(this.opts.registries()).map((d) => withDomain(ref, d)) : [ref];
    const errors: unknown[] = [];
    for (const candidate of candidates) {
      let endpoints: PullEndpoint[];
      try {
        endpoints = pullEndpoints(this.opts.registries(), candidate);
      } catch (err) {
        errors.push(err);
        continue;
      }
      for (const endpoint of endpoints) {
        if (options.signal?.aborted) throw options.signal.reason ?? new FailedPreconditionError('pull cancelled');
        const log = this.opts.logger.child({ image: formatReference(candidate), endpoint: `${endpoint.host}/${endpoint.repository}` });
        const client = new RegistryClient({
          host: endpoint.host,
          insecure: endpoint.insecure,
          credentials: credentialsFor(endpoint, ref, options.credentials),
          logger: log,
          certsDir: this.opts.certsDir,
          signal: options.signal,
        });
        let resolved: { manifest: ImageManifest; manifestBytes: Buffer; topDigest: string; configBytes: Buffer };
        const manifestStarted = performance.now();
        try {
          resolved = await this.resolveManifest(client, endpoint.repository, candidate);
          options.onStep?.('manifest fetch', (performance.now() - manifestStarted) / 1000, true);
        } catch (err) {
          options.onStep?.('manifest fetch', (performance.now() - manifestStarted) / 1000, false);
          // Mirrors are best effort; after the last endpoint the error is reported.
          log.debug('endpoint failed', { error: String(err) });
          errors.push(err);
          continue;
        }
        log.debug('pulling', { mirror: endpoint.mirror, layers: resolved.manifest.layers.length });
        const { repoTags, repoDigests } = namesFor(candidate, resolved.topDigest);
        const size = resolved.configBytes.length + resolved.manifest.layers.reduce((n, l) => n + l.size, 0);
        // Once a manifest is found the image is committed to this endpoint: layer errors are final.
        return this.opts.storage.writeImage({
          configBytes: resolved.configBytes,
          manifestBytes: resolved.manifestBytes,
          layers: resolved.manifest.layers.map((l) => ({
            mediaType: l.mediaType,
            digest: l.digest,
            size: l.size,
            open: async (signal) => (await client.openBlob(endpoint.repository, l.digest, signal)).body,
          })),
          repoTags,
          repoDigests,
          size,
          onBytes: options.onBytes,
          onLayerDone: options.onStep && ((digest, seconds, ok) => options.onStep?.('layer', seconds, ok, digest)),
          signal: options.signal,
        });
      }
    }
    throw pickError(errors, formatReference(ref));
  }

  /** Fetches the manifest (following an index to the platform's manifest) and the config. */
  private async resolveManifest(
    client: RegistryClient,
    repository: string,
    ref: ImageReference,
  ): Promise<{ manifest: ImageManifest; manifestBytes: Buffer; topDigest: string; configBytes: Buffer }> {
    const wanted = ref.digest ?? ref.tag!;
    const top = await client.getManifest(repository, wanted);
    const topDigest = sha256Digest(top.body);
    if (ref.digest !== undefined && ref.digest !== topDigest) {
      throw new FailedPreconditionError(`pull ${formatReference(ref)}: registry returned a manifest with digest ${topDigest}`);
    }
    let parsed = parseManifest(top.body, top.contentType);
    let manifestBytes = top.body;
    if (parsed.kind === 'index') {
      const chosen = selectPlatformManifest(parsed, this.opts.platform);
      const sub = await client.getManifest(repository, chosen.digest);
      if (sha256Digest(sub.body) !== chosen.digest) {
        throw new FailedPreconditionError(`pull ${formatReference(ref)}: platform manifest does not match digest ${chosen.digest}`);
      }
      parsed = parseManifest(sub.body, sub.contentType);
      manifestBytes = sub.body;
      if (parsed.kind !== 'manifest') throw new FailedPreconditionError(`pull ${formatReference(ref)}: nested index is not supported`);
    }
    const manifest = parsed;
    if (manifest.config.size > MAX_MANIFEST_BYTES) {
      throw new FailedPreconditionError(`pull ${formatReference(ref)}: config of ${manifest.config.size} bytes is over the limit`);
    }
    const res = await client.openBlob(repository, manifest.config.digest);
    const configBytes = await readLimited(res.body, MAX_MANIFEST_BYTES, `config ${manifest.config.digest}`);
    if (configBytes.length !== manifest.config.size || sha256Digest(configBytes) !== manifest.config.digest) {
      throw new FailedPreconditionError(`pull ${formatReference(ref)}: config blob does not match ${manifest.config.digest}`);
    }
    return { manifest, manifestBytes, topDigest, configBytes };
  }
}

/**
 * The credentials to send to `endpoint`: only to the registry they are for (AuthConfig's
 * server_address, else the registry `ref` names as normalised, before search registries and
 * mirrors), never to a mirror or another search registry, which would learn them.
 */
export function credentialsFor(endpoint: PullEndpoint, ref: ImageReference, creds: RegistryCredentials | undefined): RegistryCredentials | undefined {
  if (!creds || endpoint.mirror) return undefined;
  const named = creds.serverAddress ? canonicalRegistryHost(creds.serverAddress) : canonicalRegistryHost(ref.domain);
  if (named === undefined) return undefined;
  return canonicalRegistryHost(endpoint.host) === named ? creds : undefined;
}

/** The most useful of several endpoint errors (anything but NotFound wins, then the last), wrapped with the image name. */
function pickError(errors: unknown[], name: string): Error {
  const message = `pull image ${name}`;
  if (errors.length === 0) return new NotFoundError(`${message}: no registry to pull from`);
  const cause = [...errors].reverse().find((e) => errorKindOf(e) !== 'NotFound') ?? errors[errors.length - 1];
  const kind = errorKindOf(cause);
  return errorOfKind(kind !== undefined && PASSED_THROUGH_KINDS.has(kind) ? kind : 'FailedPrecondition', message, { cause });
}

/** Kinds a pull failure keeps from its cause; any other becomes FailedPrecondition. */
const PASSED_THROUGH_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['NotFound', 'InvalidArgument', 'Unavailable', 'DeadlineExceeded', 'Internal']);
