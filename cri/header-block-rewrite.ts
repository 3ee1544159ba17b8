/**
 * Rewrites invalid `:authority` values in HPACK header blocks sent by a client, keeping the
 * server's dynamic table consistent with the client's references.
 *
 * Why it stays consistent: a rewritten literal keeps its representation type, so an entry the
 * client adds to its table is added to the server's table too, at the same position, only
 * smaller or equal in size (the replacement is never longer than the original value). Entries
 * are addressed newest-first, so the server's table always holds at least every entry the client
 * can still reference, at the same index; a later indexed reference to the client's
 * (":authority", "/run/…sock") entry resolves to the server's (":authority", "localhost").
 */
import {
  decodeInteger,
  DynamicTableTracker,
  encodeInteger,
  encodeStringLiteral,
  HpackError,
  readStringLiteral,
  STATIC_AUTHORITY_INDEX,
  stringLiteralValue,
} from './hpack';

/** The authority given to the server instead of a socket path. */
const REPLACEMENT_AUTHORITY = 'localhost';

/** RFC 3986 authority characters (host, port, userinfo, IP literals); a path has '/'. */
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%[\]]*$/;

/** True when Node's HTTP/2 layer would accept `value` as `:authority`. */
export function isValidAuthority(value: string): boolean {
  return VALID_AUTHORITY.test(value);
}

/**
 * The value to send instead of an invalid authority of `originalLength` octets: "localhost", cut
 * short so the server-side table entry is never larger than the client's.
 */
export function replacementFor(originalLength: number): string {
  return REPLACEMENT_AUTHORITY.slice(0, Math.max(1, Math.min(REPLACEMENT_AUTHORITY.length, originalLength)));
}

/** Result of rewriting one header block. */
export interface BlockRewrite {
  block: Buffer;
  /** Number of `:authority` fields replaced. */
  rewritten: number;
}

/** Literal representation kinds: first-byte pattern and index prefix size. */
const LITERAL_INCREMENTAL = { flags: 0x40, prefix: 6 };
const LITERAL_WITHOUT_INDEXING = { flags: 0x00, prefix: 4 };
const LITERAL_NEVER_INDEXED = { flags: 0x10, prefix: 4 };

/** Per-connection rewriter; feed it every client header block in order. */
export class HeaderBlockRewriter {
  private readonly table = new DynamicTableTracker();

  /** Rewrites one complete header block (HEADERS + CONTINUATION fragments joined). */
  rewrite(block: Buffer): BlockRewrite {
    const parts: Buffer[] = [];
    let copiedUpTo = 0;
    let rewritten = 0;
    let pos = 0;
    while (pos < block.length) {
      const first = block[pos];
      if (first & 0x80) {
        // Indexed header field: no table change; the index was validated by the client's encoder.
        pos = decodeInteger(block, pos, 7).next;
        continue;
      }
      if ((first & 0xe0) === 0x20) {
        // Dynamic table size update.
        const { value, next } = decodeInteger(block, pos, 5);
        this.table.resize(value);
        pos = next;
        continue;
      }
      const kind =
        (first & 0xc0) === 0x40 ? LITERAL_INCREMENTAL : (first & 0xf0) === 0x10 ? LITERAL_NEVER_INDEXED : LITERAL_WITHOUT_INDEXING;
      const start = pos;
      const { value: nameIndex, next: afterIndex } = decodeInteger(block, pos, kind.prefix);
      let name: string;
      pos = afterIndex;
      if (nameIndex === 0) {
        const nameLit = readStringLiteral(block, pos);
        name = stringLiteralValue(block, nameLit).toString('latin1');
        pos = nameLit.next;
      } else {
        name = this.table.nameAt(nameIndex);
      }
      const valueLit = readStringLiteral(block, pos);
      pos = valueLit.next;
      let valueLength: number;
      if (name === ':authority') {
        const value = stringLiteralValue(block, valueLit);
        valueLength = value.length;
        if (!isValidAuthority(value.toString('latin1'))) {
          const replacement = replacementFor(value.length);
          parts.push(block.subarray(copiedUpTo, start));
          parts.push(encodeInteger(STATIC_AUTHORITY_INDEX, kind.prefix, kind.flags), encodeStringLiteral(replacement));
          copiedUpTo = pos;
          valueLength = replacement.length;
          rewritten += 1;
        }
      } else {
        // Only the size matters for other entries; Huffman length is not the octet length.
        valueLength = valueLit.huffman ? stringLiteralValue(block, valueLit).length : valueLit.end - valueLit.start;
      }
      if (kind === LITERAL_INCREMENTAL) this.table.add(name, valueLength);
    }
    if (pos !== block.length) throw new HpackError('header block overruns its length');
    if (rewritten === 0) return { block, rewritten };
    parts.push(block.subarray(copiedUpTo));
    return { block: Buffer.concat(parts), rewritten };
  }
}
