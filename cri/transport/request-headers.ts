/**
 * Reads a gRPC request's header list (gRPC over HTTP/2, "Requests"): pseudo-headers checked as
 * RFC 9113 8.3 asks, content-type, te, grpc-timeout and grpc-encoding picked out, the rest kept as
 * metadata.
 */
import type { HeaderField } from './hpack-decoder';

/** A request header list that is malformed HTTP/2 (the stream gets RST_STREAM PROTOCOL_ERROR). */
export class MalformedRequestError extends Error {
  override readonly name = 'MalformedRequestError';
}

/** What the gRPC layer needs from a request's headers. */
export interface GrpcRequestHeaders {
  method: string;
  path: string;
  contentType: string | undefined;
  /** Milliseconds from grpc-timeout; undefined without one; NaN when it does not parse. */
  timeoutMs: number | undefined;
  /** grpc-encoding, when not identity. */
  encoding: string | undefined;
  /** All regular fields in order (metadata included). */
  fields: readonly HeaderField[];
}

/** Headers that are connection-specific in HTTP/1 and malformed in HTTP/2 (RFC 9113 8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Parses grpc-timeout ("1S", "100m", at most 8 digits); NaN when malformed. */
export function parseGrpcTimeout(value: string): number {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return Number.NaN;
  return Number(match[1]) * TIMEOUT_UNIT_MS[match[2]];
}

/** Validates and reads a request header list; throws MalformedRequestError. */
export function readRequestHeaders(list: readonly HeaderField[]): GrpcRequestHeaders {
  let method: string | undefined;
  let path: string | undefined;
  let scheme: string | undefined;
  let contentType: string | undefined;
  let timeoutMs: number | undefined;
  let encoding: string | undefined;
  let regularSeen = false;
  const fields: HeaderField[] = [];
  for (const field of list) {
    const [name, value] = field;
    if (name.length === 0) throw new MalformedRequestError('empty header name');
    if (name.charCodeAt(0) === 0x3a) {
      if (regularSeen) throw new MalformedRequestError(`pseudo-header ${name} after regular headers`);
      switch (name) {
        case ':method':
          if (method !== undefined) throw new MalformedRequestError('duplicate :method');
          method = value;
          break;
        case ':path':
          if (path !== undefined) throw new MalformedRequestError('duplicate :path');
          path = value;
          break;
        case ':scheme':
          if (scheme !== undefined) throw new MalformedRequestError('duplicate :scheme');
          scheme = value;
          break;
        case ':authority':
          // Any authority: old kubelet and crictl send the socket path.
          break;
        default:
          throw new MalformedRequestError(`unknown pseudo-header ${name}`);
      }
      continue;
    }
    regularSeen = true;
    if (name !== name.toLowerCase()) throw new MalformedRequestError(`upper-case header name ${name}`);
    if (CONNECTION_SPECIFIC.has(name)) throw new MalformedRequestError(`connection-specific header ${name}`);
    switch (name) {
      case 'te':
        if (value !== 'trailers') throw new MalformedRequestError(`te: ${value}`);
        break;
      case 'content-type':
        contentType = value;
        break;
      case 'grpc-timeout':
        timeoutMs = parseGrpcTimeout(value);
        break;
      case 'grpc-encoding':
        encoding = value === 'identity' ? undefined : value;
        break;
      default:
        break;
    }
    fields.push(field);
  }
  if (method === undefined || path === undefined || scheme === undefined) throw new MalformedRequestError('missing :method, :path or :scheme');
  if (path === '') throw new MalformedRequestError('empty :path');
  return { method, path, contentType, timeoutMs, encoding, fields };
}

/** True for application/grpc, application/grpc+proto, application/grpc;… */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || !value.startsWith('application/grpc')) return false;
  const next = value.charAt('application/grpc'.length);
  return next === '' || next === '+' || next === ';';
}
