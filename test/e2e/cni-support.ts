/**
 * Helpers for the CNI e2e tests: unique netns/bridge/subnet names, a TCP echo server inside a
 * netns, and removal of every iptables rule and chain that mentions a test network.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';

/** Runs a command; resolves with stdout, rejects with stderr in the message. */
export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Names no other test on this machine uses. */
export function uniqueNames(): { suffix: string; netnsPrefix: string; bridge: string; network: string; subnet: string; prefix3: string } {
  const suffix = randomBytes(2).toString('hex');
  const second = 200 + Math.floor(Math.random() * 51);
  const third = Math.floor(Math.random() * 256);
  return {
    suffix,
    netnsPrefix: `berthcni-${suffix}`,
    bridge: `bcni${suffix}`,
    network: `berthe2e${suffix}`,
    subnet: `10.${second}.${third}.0/24`,
    prefix3: `10.${second}.${third}.`,
  };
}

/** Starts a TCP server in `netns` on `port` that answers "hello\n" and closes. */
export async function startServerInNetns(netns: string, port: number): Promise<ChildProcess> {
  const code = `require('net').createServer(s=>s.end('hello\\n')).listen(${port},'0.0.0.0',()=>console.log('up'))`;
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`server in ${netns} exited with ${c}`)));
    child.stdout!.once('data', () => resolve());
  });
  return child;
}

/** Connects and reads until close; rejects after `ms`. */
export function fetchTcp(host: string, port: number, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect ${host}:${port}: timed out`));
    }, ms);
    sock.on('data', (b) => chunks.push(b));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString());
    });
  });
}

/** iptables-save lines (all tables) that mention `needle`. */
export async function iptablesLinesWith(needle: string): Promise<string[]> {
  const out = await run('iptables-save', []);
  return out.split('\n').filter((l) => l.includes(needle));
}

/**
 * Deletes every rule whose line mentions one of `needles`, then the per-pod chains those rules
 * jumped to (CNI-…): what a failed test may leave behind.
 */
export async function removeIptablesMentioning(needles: string[]): Promise<void> {
  const out = await run('iptables-save', []);
  let table = '';
  const chains = new Set<string>();
  for (const line of out.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (!line.startsWith('-A ') || !needles.some((n) => line.includes(n))) continue;
    const jump = / -j (CNI-[A-Za-z0-9-]+)/.exec(line);
    if (jump && !/^CNI-(HOSTPORT|FORWARD|ADMIN)/.test(jump[1]!)) chains.add(`${table} ${jump[1]}`);
    const args = splitRule(line.slice(3));
    await run('iptables', ['-w', '-t', table, '-D', ...args]).catch(() => undefined);
  }
  for (const entry of chains) {
    const [t, chain] = entry.split(' ');
    await run('iptables', ['-w', '-t', t!, '-F', chain!]).catch(() => undefined);
    await run('iptables', ['-w', '-t', t!, '-X', chain!]).catch(() => undefined);
  }
}

/** Splits an iptables-save rule into argv, honouring double quotes. */
function splitRule(rule: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rule))) args.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!);
  return args;
}

/** Deletes a netns and a link, ignoring "does not exist". */
export async function removeNetnsAndLink(netnsNames: string[], link: string): Promise<void> {
  for (const ns of netnsNames) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  await run('ip', ['link', 'del', link]).catch(() => undefined);
}
