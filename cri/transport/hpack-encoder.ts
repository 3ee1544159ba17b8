/**
 * The server's HPACK encoding: static-table indices and literals without indexing only, so
 * the client's decoder table never changes and nothing is kept per connection. The blocks a
 * successful call sends are built once.
 */
import { encodeLiteralField } from '../hpack';

const STATUS_200 = Buffer.from([0x88]);
const CONTENT_TYPE_INDEX = 31;
const STATUS_INDEX = 8;
const CONTENT_TYPE_GRPC = encodeLiteralField(CONTENT_TYPE_INDEX, 'application/grpc');

/** `:status 200` and `content-type: application/grpc`: the response headers of every call. */
export const RESPONSE_HEADERS: Buffer = Buffer.concat([STATUS_200, CONTENT_TYPE_GRPC]);

/** The trailers of a call that succeeded. */
export const OK_TRAILERS: Buffer = encodeLiteralField('grpc-status', '0');

/** Trailers carrying a gRPC status and its percent-encoded message. */
export function statusTrailers(code: number, message: string): Buffer {
  const status = encodeLiteralField('grpc-status', String(code));
  if (message === '') return status;
  return Buffer.concat([status, encodeLiteralField('grpc-message', percentEncode(message))]);
}

/** A trailers-only response (RFC: headers and status in one HEADERS frame with END_STREAM). */
export function trailersOnly(code: number, message: string): Buffer {
  return Buffer.concat([RESPONSE_HEADERS, statusTrailers(code, message)]);
}

/** An HTTP response that is not gRPC (e.g. 415 for a wrong content-type), with a gRPC status for gRPC clients. */
export function httpErrorHeaders(httpStatus: number, code: number, message: string): Buffer {
  return Buffer.concat([encodeLiteralField(STATUS_INDEX, String(httpStatus)), CONTENT_TYPE_GRPC, statusTrailers(code, message)]);
}

/**
 * grpc-message encoding (gRPC over HTTP/2, "Responses"): the UTF-8 octets, with every octet
 * outside printable ASCII and '%' itself written as %XX.
 */
export function percentEncode(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}
