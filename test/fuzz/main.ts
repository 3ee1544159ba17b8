/**
 * `npm run fuzz -- [--seconds N] [--target NAME]...`: runs every fuzz target (TypeScript targets
 * under test/fuzz/targets, libFuzzer harnesses under native/fuzz) for N seconds each (default 30),
 * each TypeScript target in a child process so a hang is caught and reported. Findings are saved
 * under test/fuzz/corpus/<target>/ as regression inputs; exit status 1 when there is any.
 */
import { spawn } from 'node:child_process';
import { loadTargets } from './load-targets';
import { findHarnesses, runHarness } from './native-harness';
import { formatResult, fuzzTarget } from './run-target';

interface FuzzArgs {
  seconds: number;
  targets: string[];
  /** Internal: run this one target in this process. */
  child?: string;
}

/** Parses the flags; unknown flags are an error. */
export function parseFuzzArgs(argv: readonly string[]): FuzzArgs {
  const out: FuzzArgs = { seconds: 30, targets: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--seconds' && Number(value) > 0) out.seconds = Number(value);
    else if (flag === '--target' && value) out.targets.push(value);
    else if (flag === '--child' && value) out.child = value;
    else throw new Error(`usage: fuzz [--seconds N] [--target NAME]... (bad: ${flag} ${value ?? ''})`);
    i++;
  }
  return out;
}

async function runChild(name: string, seconds: number): Promise<number> {
  const target = loadTargets().find((t) => t.name === name);
  if (!target) throw new Error(`no fuzz target ${name}`);
  try {
    const result = await fuzzTarget(target, { seconds, save: true });
    console.log(formatResult(result));
    return result.finding ? 1 : 0;
  } finally {
    await target.dispose?.();
  }
}

/** Runs one TypeScript target in a child; a child that does not finish in time is a hang. */
function runIsolated(name: string, seconds: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', __filename, '--child', name, '--seconds', String(seconds)], { stdio: 'inherit' });
    const limitMs = (seconds + 120) * 1000;
    const timer = setTimeout(() => {
      console.log(`fuzz ${name}: FINDING: no result within ${limitMs / 1000} s (a hang); killed`);
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

async function main(): Promise<number> {
  const args = parseFuzzArgs(process.argv.slice(2));
  if (args.child) return runChild(args.child, args.seconds);
  const wanted = (name: string): boolean => args.targets.length === 0 || args.targets.includes(name);
  const targets = loadTargets().filter((t) => wanted(t.name));
  const harnesses = findHarnesses().filter((h) => wanted(`native-${h.name}`));
  if (targets.length + harnesses.length === 0) throw new Error(`no fuzz target matches ${args.targets.join(', ')}`);
  let failed = 0;
  for (const t of targets) if (!(await runIsolated(t.name, args.seconds))) failed++;
  for (const h of harnesses) {
    const result = await runHarness(h, args.seconds);
    console.log(`fuzz native-${h.name}: ${result.ok ? 'no findings' : 'FINDING'}\n  ${result.summary.split('\n').join('\n  ')}`);
    for (const file of result.savedTo) console.log(`  saved to ${file}`);
    if (!result.ok) failed++;
  }
  console.log(`fuzz: ${targets.length + harnesses.length} targets, ${failed} with findings`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(2);
    },
  );
}
