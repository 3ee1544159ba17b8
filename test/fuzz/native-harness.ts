/**
 * libFuzzer harnesses for the addon's C++ code: `native/fuzz/<name>.cc`, each defining
 * LLVMFuzzerTestOneInput. A harness names the addon sources it links in a comment line
 * `// fuzz-sources: ../src/a.cc ../src/b.cc` (paths relative to the harness). They are built with
 * Debian's clang (`-fsanitize=fuzzer,address,undefined`) into native/build/fuzz/ and run on a temp
 * copy of their corpus (`test/fuzz/corpus/native-<name>/`), so new inputs libFuzzer keeps never
 * land in the source tree; a crash is copied there as a regression input.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CORPUS_ROOT } from './corpus';

const run = promisify(execFile);

/** The source tree's root (this module runs from dist/test/fuzz). */
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const HARNESS_DIR = path.join(REPO_ROOT, 'native', 'fuzz');
const BUILD_DIR = path.join(REPO_ROOT, 'native', 'build', 'fuzz');

/** A libFuzzer harness found in native/fuzz. */
export interface NativeHarness {
  name: string;
  source: string;
  /** Extra translation units, absolute paths. */
  linked: string[];
}

/** The outcome of one harness run. */
export interface NativeFuzzResult {
  name: string;
  ok: boolean;
  /** libFuzzer's last lines (stats, or the crash report). */
  summary: string;
  savedTo: string[];
}

/** Every harness in native/fuzz, sorted by name. */
export function findHarnesses(dir = HARNESS_DIR): NativeHarness[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cc'))
    .sort()
    .map((file) => {
      const source = path.join(dir, file);
      const line = fs.readFileSync(source, 'utf8').match(/^\/\/ fuzz-sources:(.*)$/m);
      const linked = line ? line[1].trim().split(/\s+/).filter(Boolean).map((p) => path.resolve(dir, p)) : [];
      return { name: path.basename(file, '.cc'), source, linked };
    });
}

/** Compiles a harness (when its binary is older than a source); returns the binary's path. */
export async function buildHarness(h: NativeHarness): Promise<string> {
  const binary = path.join(BUILD_DIR, h.name);
  const sources = [h.source, ...h.linked];
  const newest = Math.max(...sources.map((s) => fs.statSync(s).mtimeMs));
  if (fs.existsSync(binary) && fs.statSync(binary).mtimeMs >= newest) return binary;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const flags = ['-std=c++17', '-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined', `-I${path.join(REPO_ROOT, 'native', 'src')}`];
  await run('clang++', [...flags, ...sources, '-o', binary], { maxBuffer: 16 << 20 });
  return binary;
}

/** Runs a built harness for `seconds` on its corpus; a crash is saved under the corpus folder. */
export async function runHarness(h: NativeHarness, seconds: number): Promise<NativeFuzzResult> {
  const binary = await buildHarness(h);
  const corpus = path.join(CORPUS_ROOT, `native-${h.name}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `berth-fuzz-${h.name}-`));
  try {
    const scratch = path.join(work, 'corpus');
    const artifacts = path.join(work, 'artifacts');
    fs.mkdirSync(scratch);
    fs.mkdirSync(artifacts);
    const args = [`-max_total_time=${Math.max(1, Math.round(seconds))}`, '-rss_limit_mb=1024', '-timeout=5', `-artifact_prefix=${artifacts}/`, scratch];
    if (fs.existsSync(corpus)) args.push(corpus);
    let ok = true;
    let output: string;
    try {
      const { stderr } = await run(binary, args, { maxBuffer: 64 << 20, timeout: (seconds + 60) * 1000 });
      output = stderr;
    } catch (err) {
      ok = false;
      const e = err as { stderr?: string; message: string };
      output = e.stderr ?? e.message;
    }
    const savedTo: string[] = [];
    for (const file of fs.readdirSync(artifacts)) {
      fs.mkdirSync(corpus, { recursive: true });
      const target = path.join(corpus, file);
      fs.copyFileSync(path.join(artifacts, file), target);
      savedTo.push(target);
    }
    const lines = output.trim().split('\n');
    return { name: h.name, ok: ok && savedTo.length === 0, summary: lines.slice(ok ? -2 : -40).join('\n'), savedTo };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
