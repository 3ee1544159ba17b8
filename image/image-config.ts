/** Parsing of the image config blob (OCI image-spec config.md / Docker image JSON). */
import { InvalidArgumentError } from '../common/errors';
import { isDigest } from './reference';
import type { OciImageConfig } from './image-store';

export interface ParsedImageConfig {
  readonly os: string;
  readonly architecture: string;
  readonly diffIds: string[];
  readonly config: OciImageConfig;
  readonly created?: string;
}

/** Parses and checks an image config blob. */
export function parseImageConfig(body: Buffer): ParsedImageConfig {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError('parse image config: not JSON', { cause: err });
  }
  const rootfs = doc['rootfs'] as Record<string, unknown> | undefined;
  const diffIds = rootfs?.['diff_ids'];
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && isDigest(d))) {
    throw new InvalidArgumentError('parse image config: rootfs.diff_ids missing or malformed');
  }
  const cfg = doc['config'];
  return {
    os: String(doc['os'] ?? ''),
    architecture: String(doc['architecture'] ?? ''),
    diffIds: diffIds as string[],
    config: typeof cfg === 'object' && cfg !== null ? (cfg as OciImageConfig) : {},
    created: typeof doc['created'] === 'string' ? doc['created'] : undefined,
  };
}

/** The uid (numeric USER) or username (named USER) an image runs as; CRI's Image.uid/username. */
export function imageUser(config: OciImageConfig): { uid?: number; username?: string } {
  const user = (config.User ?? '').split(':')[0] ?? '';
  if (user === '') return { uid: 0 };
  if (/^\d+$/.test(user)) return { uid: Number(user) };
  return { username: user };
}
