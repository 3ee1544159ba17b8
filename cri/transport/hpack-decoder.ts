/**
 * The server's HPACK decoder (RFC 7541): one per connection, fed every request header block in
 * order. It keeps the dynamic table (size updates, eviction) and bounds what one block may
 * decode to: past `maxHeaderListBytes` it keeps parsing (the table must stay in step with the
 * client's) but drops the fields and reports the block as oversized.
 */
import { decodeInteger, HpackError, readStringLiteral as readString, STATIC_TABLE } from '../hpack';

/** Huffman literals up to this many octets are remembered per connection (request paths, content types). */
const CACHED_LITERAL_BYTES = 64;
/** At most this many remembered literals per connection; the map starts over when full. */
const CACHED_LITERALS = 128;

/** One header field: lower-case name and value, both latin1 strings. */
export type HeaderField = readonly [name: string, value: string];

/** A decoded header block. */
export interface DecodedHeaders {
  fields: HeaderField[];
  /** True when the decoded list passed the limit; `fields` is then incomplete. */
  oversized: boolean;
}

/** RFC 7541 4.1: every entry costs its name, its value and 32 octets. */
const ENTRY_OVERHEAD = 32;

/** Per-connection decoder state. */
export class HpackDecoder {
  private entries: HeaderField[] = [];
  private tableBytes = 0;
  /**
   * Decoded Huffman literals by their coded octets: clients send the same few values (a gRPC
   * client sends `:path` without indexing on every call), and decoding is bit by bit.
   */
  private readonly literals = new Map<string, string>();
  private maxTableBytes: number;

  /**
   * `settingsTableBytes` is our SETTINGS_HEADER_TABLE_SIZE (the most a size update may ask for);
   * `maxHeaderListBytes` our SETTINGS_MAX_HEADER_LIST_SIZE.
   */
  constructor(
    private readonly settingsTableBytes: number,
    private readonly maxHeaderListBytes: number,
  ) {
    this.maxTableBytes = settingsTableBytes;
  }

  /** Number of dynamic entries (for tests). */
  get tableLength(): number {
    return this.entries.length;
  }

  /** Number of remembered Huffman literals (for tests). */
  get rememberedLiterals(): number {
    return this.literals.size;
  }

  /** Decodes one complete header block; throws HpackError (a COMPRESSION_ERROR) on bad input. */
  decode(block: Buffer): DecodedHeaders {
    const fields: HeaderField[] = [];
    let listBytes = 0;
    let oversized = false;
    let pos = 0;
    let fieldSeen = false;
    while (pos < block.length) {
      const b = block[pos];
      let name: string;
      let value: string;
      if (b & 0x80) {
        const { value: index, next } = decodeInteger(block, pos, 7);
        pos = next;
        [name, value] = this.entry(index);
      } else if ((b & 0xe0) === 0x20) {
        // RFC 7541 4.2: a size update is only allowed before the first field of a block.
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const { value: size, next } = decodeInteger(block, pos, 5);
        pos = next;
        if (size > this.settingsTableBytes) throw new HpackError(`dynamic table size update to ${size} exceeds ${this.settingsTableBytes}`);
        this.maxTableBytes = size;
        this.evict(0);
        continue;
      } else {
        const incremental = (b & 0xc0) === 0x40;
        const { value: index, next } = decodeInteger(block, pos, incremental ? 6 : 4);
        pos = next;
        if (index === 0) {
          const lit = this.literal(block, pos);
          pos = lit.next;
          name = lit.value;
        } else {
          name = this.entry(index)[0];
        }
        const lit = this.literal(block, pos);
        pos = lit.next;
        value = lit.value;
        if (incremental) this.add(name, value);
      }
      fieldSeen = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > this.maxHeaderListBytes) oversized = true;
      else fields.push([name, value]);
    }
    return { fields: oversized ? [] : fields, oversized };
  }

  /** The string literal at `pos`; short Huffman-coded ones come from the per-connection memory. */
  private literal(block: Buffer, pos: number): { value: string; next: number } {
    const first = pos < block.length ? block[pos] : 0;
    const length = first & 0x7f;
    // Only a one-octet length prefix (< 127) qualifies; anything else takes the general path.
    if ((first & 0x80) === 0 || length > CACHED_LITERAL_BYTES || pos + 1 + length > block.length) return readString(block, pos);
    const next = pos + 1 + length;
    const key = block.toString('latin1', pos + 1, next);
    const known = this.literals.get(key);
    if (known !== undefined) return { value: known, next };
    const lit = readString(block, pos);
    if (this.literals.size >= CACHED_LITERALS) this.literals.clear();
    this.literals.set(key, lit.value);
    return lit;
  }

  private entry(index: number): HeaderField {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const entry = this.entries[index - STATIC_TABLE.length - 1];
    if (index < 1 || entry === undefined) throw new HpackError(`header index ${index} out of range`);
    return entry;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    // RFC 7541 4.4: an entry larger than the table empties it and is not added.
    this.evict(size);
    if (size > this.maxTableBytes) return;
    this.entries.unshift([name, value]);
    this.tableBytes += size;
  }

  /** Evicts oldest entries until `incoming` more octets fit. */
  private evict(incoming: number): void {
    while (this.entries.length > 0 && this.tableBytes + incoming > this.maxTableBytes) {
      const [n, v] = this.entries.pop() as HeaderField;
      this.tableBytes -= n.length + v.length + ENTRY_OVERHEAD;
    }
  }
}
