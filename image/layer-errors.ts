/** The typed errors a hostile or malformed layer tarball is refused with. */
import { FailedPreconditionError } from '../common/errors';

/** Thrown for a layer entry that would escape the layer directory or is otherwise malformed. */
export class UnsafeLayerError extends FailedPreconditionError {}

/**
 * A tar metadata record (PAX extended header, PAX global header, GNU long name or long link) larger
 * than the unpacker buffers. Raised from the 512-byte header, before any of the record is read.
 */
export class TarRecordTooLargeError extends UnsafeLayerError {}

/** Longest name quoted in an error message: names come from the layer and may be huge. */
const QUOTED_NAME_CHARS = 256;

/** `name` quoted for an error message, cut to QUOTED_NAME_CHARS. */
export function quoteName(raw: string | null | undefined): string {
  const name = raw ?? '';
  return name.length <= QUOTED_NAME_CHARS ? JSON.stringify(name) : `${JSON.stringify(name.slice(0, QUOTED_NAME_CHARS))}…(${name.length} chars)`;
}
