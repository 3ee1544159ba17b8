/**
 * Fake CNI plugins for unit tests: small /bin/sh scripts in a temp plugin dir that record every
 * call (CNI_* environment and stdin) and answer with a canned result, an error, or a delay.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** One recorded plugin call. */
export interface RecordedCall {
  seq: number;
  type: string;
  command: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
}

/** How a fake answers one command. */
export interface FakeResponse {
  stdout?: string;
  exitCode?: number;
  sleepSeconds?: number;
  /** Apply this answer only to calls with a non-empty CNI_NETNS (others behave by default). */
  onlyWithNetns?: boolean;
}

/**
 * The script: count the call, save env and stdin, then answer. Without a canned answer, ADD
 * prints a result naming the plugin (`addedBy`) with an address derived from the plugin name's
 * length, so prevResult chaining is visible in the next plugin's stdin.
 */
function script(root: string, type: string, ip: string): string {
  return `#!/bin/sh
LOG='${root}/log'; ANS='${root}/answers'
n=$(cat "$LOG/counter" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$LOG/counter"
env | grep '^CNI_' > "$LOG/$n.${type}.$CNI_COMMAND.env"
cat > "$LOG/$n.${type}.$CNI_COMMAND.stdin"
key="${type}.$CNI_COMMAND"
if [ -f "$ANS/$key.netns-only" ] && [ -z "$CNI_NETNS" ]; then key="$key.no-netns"; fi
if [ -f "$ANS/$key.sleep" ]; then sleep "$(cat "$ANS/$key.sleep")"; fi
if [ -f "$ANS/$key.out" ]; then cat "$ANS/$key.out"; fi
if [ -f "$ANS/$key.exit" ]; then exit "$(cat "$ANS/$key.exit")"; fi
if [ -f "$ANS/$key.out" ]; then exit 0; fi
if [ "$CNI_COMMAND" = ADD ]; then
  printf '{"cniVersion":"1.0.0","addedBy":"${type}","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"${ip}/24","interface":0}]}' "$CNI_IFNAME" "$CNI_NETNS"
fi
exit 0
`;
}

/** A temp plugin dir full of fakes. */
export class FakePluginDir {
  private constructor(readonly root: string) {}

  /** The directory to put in pluginDirs. */
  get dir(): string {
    return path.join(this.root, 'bin');
  }

  /** Creates fakes for `types`; each ADD answers 10.99.<n>.2 where n is the type's index. */
  static async create(types: string[]): Promise<FakePluginDir> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-fake-'));
    const fake = new FakePluginDir(root);
    await Promise.all(['bin', 'log', 'answers'].map((d) => fs.mkdir(path.join(root, d))));
    for (const [i, type] of types.entries()) await fake.add(type, `10.99.${i}.2`);
    return fake;
  }

  /** Adds one more fake plugin binary. */
  async add(type: string, ip = '10.99.200.2'): Promise<void> {
    await fs.writeFile(path.join(this.dir, type), script(this.root, type, ip), { mode: 0o755 });
  }

  /** Makes `type` answer `command` this way from now on. */
  async respond(type: string, command: string, r: FakeResponse): Promise<void> {
    const base = path.join(this.root, 'answers', `${type}.${command}`);
    if (r.stdout !== undefined) await fs.writeFile(`${base}.out`, r.stdout);
    if (r.exitCode !== undefined) await fs.writeFile(`${base}.exit`, String(r.exitCode));
    if (r.sleepSeconds !== undefined) await fs.writeFile(`${base}.sleep`, String(r.sleepSeconds));
    if (r.onlyWithNetns) await fs.writeFile(`${base}.netns-only`, '');
  }

  /** Every call so far, in call order. */
  async calls(): Promise<RecordedCall[]> {
    const logDir = path.join(this.root, 'log');
    const names = (await fs.readdir(logDir)).filter((n) => n.endsWith('.env'));
    const calls: RecordedCall[] = [];
    for (const name of names) {
      const [seq, type, command] = name.slice(0, -'.env'.length).split('.');
      const envText = await fs.readFile(path.join(logDir, name), 'utf8');
      const stdinText = await fs.readFile(path.join(logDir, name.replace(/\.env$/, '.stdin')), 'utf8').catch(() => '');
      const env: Record<string, string> = {};
      for (const line of envText.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      calls.push({ seq: Number(seq), type: type!, command: command!, env, stdin: stdinText ? JSON.parse(stdinText) : {} });
    }
    return calls.sort((a, b) => a.seq - b.seq);
  }

  /** Forgets recorded calls (answers stay). */
  async clearCalls(): Promise<void> {
    const logDir = path.join(this.root, 'log');
    await fs.rm(logDir, { recursive: true, force: true });
    await fs.mkdir(logDir);
  }

  /** Removes everything. */
  async cleanup(): Promise<void> {
    await fs.rm(this.root, { recursive: true, force: true });
  }
}
