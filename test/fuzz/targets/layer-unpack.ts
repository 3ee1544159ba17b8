/**
 * Fuzz target: hostile layer bytes (tar, gzip or zstd by their magic) unpacked into a fresh temp
 * root. Findings: an error that is not one of the unpacker's typed refusals (a TypeError, or an
 * errno such as EEXIST/ELOOP that means the unpacker's model and the disk disagreed), any change
 * to a sibling "outside" dir (sentinel file, a dir the seeds aim symlinks at), a native call
 * (mknod, lsetxattr) on a path whose parent resolves outside the root, more than 64 MiB of
 * high-water RSS growth for one input, or an input over the time budget.
 */
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { BerthError } from '../../../common/errors';
import { UnpackNative, unpackLayer } from '../../../image/layer-unpack';
import type { LayerCompression } from '../../../image/manifest';
import { rawTar, RawTarEntry } from '../../../image/testing/tarball';
import type { FuzzTarget } from '../target';

const MAX_RSS_GROWTH = 64 * 1024 * 1024;
/** errno codes a hostile layer may legitimately provoke (names too long, odd modes, full disk). */
const ALLOWED_ERRNO = new Set(['ENAMETOOLONG', 'EINVAL', 'ENOSPC', 'EMLINK', 'EFBIG', 'EPERM', 'EOVERFLOW']);
/** Error classes that always mean a bug in the unpacker, never a bad layer. */
const BUG_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'AssertionError']);

/** Where one run lives: <base>/outside (must never change) and <base>/layer-<n> per input. */
interface Sandbox {
  readonly base: string;
  readonly outside: string;
  readonly snapshot: string;
}

let sandbox: Sandbox | undefined;
let runs = 0;

function setUp(): Sandbox {
  if (sandbox) return sandbox;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fuzz-unpack-'));
  const outside = path.join(base, 'outside');
  fs.mkdirSync(path.join(outside, 'tmp'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'sentinel'), 'do not touch');
  fs.symlinkSync('sentinel', path.join(outside, 'link'));
  const old = new Date('2001-01-01T00:00:00Z');
  for (const p of ['tmp', 'sentinel', '.']) fs.utimesSync(path.join(outside, p), old, old);
  sandbox = { base, outside, snapshot: describeTree(outside) };
  return sandbox;
}

function tearDown(): void {
  if (sandbox) fs.rmSync(sandbox.base, { recursive: true, force: true });
  sandbox = undefined;
}

/** Names, types, modes, sizes, mtimes and file contents below `dir`, as one string. */
function describeTree(dir: string): string {
  const lines: string[] = [];
  const walk = (p: string, rel: string): void => {
    const st = fs.lstatSync(p);
    let extra = '';
    if (st.isFile()) extra = fs.readFileSync(p, 'latin1');
    else if (st.isSymbolicLink()) extra = fs.readlinkSync(p);
    lines.push(`${rel} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.uid}:${st.gid} ${extra}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), `${rel}/${name}`);
  };
  walk(dir, '.');
  return lines.join('\n');
}

/** Native calls that check their path stays inside `root` (through real parents), then leave a placeholder. */
function checkingNative(root: string, findings: string[]): UnpackNative {
  const realRoot = fs.realpathSync(root);
  const inside = (p: string, what: string): void => {
    let parent: string;
    try {
      parent = fs.realpathSync(path.dirname(p));
    } catch {
      findings.push(`${what} ${p}: parent does not resolve`);
      return;
    }
    if (parent !== realRoot && !parent.startsWith(realRoot + path.sep)) findings.push(`${what} ${p}: parent resolves to ${parent}, outside the root`);
  };
  return {
    mknod: async (p) => {
      inside(p, 'mknod');
      fs.writeFileSync(p, '', { flag: 'wx' });
    },
    lsetxattr: async (p) => {
      inside(p, 'lsetxattr');
      fs.lstatSync(p);
    },
  };
}

function compressionOf(input: Uint8Array): LayerCompression {
  if (input[0] === 0x1f && input[1] === 0x8b) return 'gzip';
  if (input[0] === 0x28 && input[1] === 0xb5 && input[2] === 0x2f && input[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Why `err` is a finding, or undefined when it is a refusal the unpacker may give. */
function unexpected(err: unknown): string | undefined {
  if (!(err instanceof BerthError)) return `untyped rejection: ${String(err)}`;
  const seen = new Set<unknown>();
  for (let cur: unknown = err; cur instanceof Error && !seen.has(cur); cur = cur.cause) {
    seen.add(cur);
    if (BUG_ERRORS.has(cur.name)) return `${cur.name} inside ${err.message}: ${cur.stack ?? cur.message}`;
    const code = (cur as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && !ALLOWED_ERRNO.has(code)) return `errno ${code}: ${err.message}`;
  }
  return undefined;
}

/** The attack shapes the mutator starts from; `../outside` is the sibling dir the oracle watches. */
function seedEntries(): RawTarEntry[][] {
  const y1999 = 915_148_800;
  return [
    [{ name: 'etc/', typeflag: '5', mode: 0o755 }, { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }],
    [{ name: 'bin/busybox', content: 'BB', mode: 0o4755 }, { name: 'bin/sh', typeflag: '2', linkname: 'busybox' }, { name: 'bin/ls', typeflag: '1', linkname: 'bin/busybox' }],
    [{ name: 'a/', typeflag: '5' }, { name: 'a/tmp/', typeflag: '5', mtimeSec: y1999 }, { name: 'a', typeflag: '2', linkname: '../outside' }],
    [{ name: 'a', typeflag: '2', linkname: '../outside' }, { name: 'a/sentinel', content: 'pwned' }],
    [{ name: 'a', typeflag: '2', linkname: '/' }, { name: 'a/tmp/berth-fuzz-evil', content: 'pwned' }],
    [{ name: 'l', typeflag: '2', linkname: '../outside/sentinel' }, { name: 'h', typeflag: '1', linkname: 'l' }, { name: 'l', content: 'x' }],
    [{ name: 'd/', typeflag: '5' }, { name: 'd/f', content: 'x' }, { name: 'd/.wh.f' }, { name: '.wh.d' }, { name: 'e/.wh..wh..opq' }],
    [{ name: 'x', content: 'cap', pax: { 'SCHILY.xattr.user.k': 'v', 'SCHILY.xattr.trusted.overlay.opaque': 'y', path: 'renamed' } }],
    [{ name: `${'n'.repeat(120)}/${'m'.repeat(120)}`, content: 'long', gnuLongName: true }],
    [{ name: 'p', content: 'x', pax: { linkpath: '../outside', path: 'q', size: '1' } }, { name: 'fifo', typeflag: '6' }, { name: 'dev', typeflag: '3' }],
    [{ name: '../outside/sentinel', content: 'pwned' }, { name: '/abs', content: 'x' }],
  ];
}

export const target: FuzzTarget = {
  name: 'layer-unpack',
  budgetMs: 5000,

  seeds(): Uint8Array[] {
    const tars = seedEntries().map((entries) => rawTar(entries));
    const out: Uint8Array[] = [...tars];
    for (const t of tars.slice(0, 4)) out.push(gzipSync(t));
    for (const t of tars.slice(2, 5)) out.push(execFileSync('zstd', ['-c', '-q'], { input: t }));
    return out;
  },

  arbitrary: fc
    .array(
      fc.record({
        name: fc.constantFrom('a', 'a/', 'a/b', 'a/tmp/', 'b', '.wh.a', 'a/.wh..wh..opq', '../outside/x', 'c/d/e', './', 'a/b/c'),
        typeflag: fc.constantFrom('0', '1', '2', '5', '6', '3', 'x', 'L', 'S', '7'),
        linkname: fc.constantFrom('a', '/', '../outside', '../outside/sentinel', 'a/b', '/tmp', ''),
        content: fc.string({ maxLength: 40 }),
        mtimeSec: fc.integer({ min: 0, max: 2 ** 33 - 1 }),
      }),
      { maxLength: 12 },
    )
    .map((entries) => new Uint8Array(rawTar(entries))),

  async run(input: Uint8Array): Promise<void> {
    const box = setUp();
    const root = path.join(box.base, `layer-${runs++}`);
    fs.mkdirSync(root);
    const findings: string[] = [];
    const maxRssBefore = process.resourceUsage().maxRSS * 1024;
    const rssBefore = process.memoryUsage().rss;
    try {
      await unpackLayer(Readable.from([Buffer.from(input)]), compressionOf(input), root, { native: checkingNative(root, findings) });
    } catch (err) {
      const why = unexpected(err);
      if (why) findings.push(why);
    }
    const maxRssGrowth = process.resourceUsage().maxRSS * 1024 - maxRssBefore;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    if (maxRssGrowth > MAX_RSS_GROWTH || rssGrowth > MAX_RSS_GROWTH) findings.push(`rss grew by ${rssGrowth} bytes (high-water +${maxRssGrowth})`);
    fs.rmSync(root, { recursive: true, force: true });
    const now = describeTree(box.outside);
    if (now !== box.snapshot) findings.push(`outside dir changed:\n${box.snapshot}\n---\n${now}`);
    const names = fs.readdirSync(box.base);
    if (names.length !== 1 || names[0] !== 'outside') findings.push(`unexpected entries next to the layer root: ${names.join(', ')}`);
    if (fs.existsSync('/tmp/berth-fuzz-evil')) findings.push('/tmp/berth-fuzz-evil was written through a symlink to /');
    if (findings.length > 0) {
      // Start the next input from a clean outside dir, so one finding does not taint the rest.
      fs.rmSync('/tmp/berth-fuzz-evil', { force: true });
      tearDown();
      throw new Error(`layer-unpack finding:\n${findings.join('\n')}`);
    }
  },

  async dispose(): Promise<void> {
    tearDown();
  },
};
