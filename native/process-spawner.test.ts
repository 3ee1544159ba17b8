import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Socket } from 'node:net';

import { loadNativeBinding } from './addon';
import { NativeError } from './binding';
import { NativeProcessSpawner, type ProcessSpawner } from './process-spawner';

function readAll(pipe: Socket | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    pipe!.on('data', (b: Buffer) => (text += b.toString()));
    pipe!.on('end', () => resolve(text));
    pipe!.on('error', reject);
  });
}

const SH = '/bin/sh';

describe('native/process-spawner: posix_spawn through the binding', () => {
  let spawner: ProcessSpawner;
  let dir: string;
  beforeEach(() => {
    spawner = new NativeProcessSpawner(loadNativeBinding());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spawn-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes only the given environment, the cwd and stdin; reports output and the exit code', async () => {
    const child = await spawner.spawn(SH, ['-c', 'read line; echo "$line/$ONLY/${HOME:-none}/$(pwd)"; echo oops >&2; exit 7'], {
      env: { ONLY: 'yes', PATH: '/usr/bin:/bin' },
      cwd: dir,
      stdio: ['in', 'out', 'out'],
    });
    child.pipes[0]!.end('hello\n');
    const [out, err, exit] = await Promise.all([readAll(child.pipes[1]), readAll(child.pipes[2]), child.exited]);
    expect(out).to.equal(`hello/yes/none/${fs.realpathSync(dir)}\n`);
    expect(err).to.equal('oops\n');
    expect(exit).to.deep.equal({ exitCode: 7, signal: null });
  });

  it('gives the child extra fds by position (fd 3) and /dev/null for ignored ones', async () => {
    const child = await spawner.spawn(SH, ['-c', 'echo sync >&3; cat; echo done'], { env: {}, stdio: ['ignore', 'out', 'ignore', 'out'] });
    const [out, extra, exit] = await Promise.all([readAll(child.pipes[1]), readAll(child.pipes[3]), child.exited]);
    expect(out).to.equal('done\n'); // cat read /dev/null: end of input at once
    expect(extra).to.equal('sync\n');
    expect(child.pipes[0]).to.equal(undefined);
    expect(exit.exitCode).to.equal(0);
  });

  it('reports a signal death by name, and starts a new session when asked', async () => {
    const child = await spawner.spawn(SH, ['-c', 'ps -o sid= -p $$ > "$1"; kill -TERM $$', 'sh', path.join(dir, 'sid')], {
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'ignore'],
      newSession: true,
    });
    expect(await child.exited).to.deep.equal({ exitCode: null, signal: 'SIGTERM' });
    expect(Number(fs.readFileSync(path.join(dir, 'sid'), 'utf8').trim())).to.equal(child.pid);
  });

  it('resets signal dispositions: a child is not left ignoring SIGPIPE as Node does', async () => {
    const child = await spawner.spawn(SH, ['-c', 'grep SigIgn /proc/self/status'], { env: {}, stdio: ['ignore', 'out', 'ignore'] });
    const out = await readAll(child.pipes[1]);
    await child.exited;
    const ignored = BigInt(`0x${out.split(':')[1]!.trim()}`);
    expect(ignored & (1n << 12n)).to.equal(0n); // bit 12 = signal 13, SIGPIPE
  });

  it('rejects when the program cannot be executed, leaking no fds', async () => {
    const fdsBefore = fs.readdirSync('/proc/self/fd').length;
    let caught: unknown;
    await spawner.spawn(path.join(dir, 'missing'), [], { env: {}, stdio: ['in', 'out', 'out'] }).catch((e: unknown) => (caught = e));
    expect((caught as NodeJS.ErrnoException).code).to.equal('ENOENT');
    await new Promise((r) => setTimeout(r, 20));
    expect(fs.readdirSync('/proc/self/fd').length).to.equal(fdsBefore);
  });
});

describe('native/process-spawner: the addon', () => {
  it('leaves the pipes close-on-exec in berthd and refuses bad arguments with TypeErrors', () => {
    const addon = loadNativeBinding();
    const [r, w] = addon.makePipe();
    try {
      const flags = fs.readFileSync(`/proc/self/fdinfo/${r}`, 'utf8');
      expect(/flags:\s+(\d+)/.exec(flags)![1]!.slice(-7, -6)).to.equal('2'); // O_CLOEXEC = 02000000
    } finally {
      fs.closeSync(r);
      fs.closeSync(w);
    }
    expect(() => addon.spawnProcess('', [], [], '', [], false)).to.throw(TypeError, /spawnProcess: file must not be empty/);
    expect(() => addon.spawnProcess('/bin/true', ['a\0b'], [], '', [], false)).to.throw(TypeError, /NUL/);
    expect(() => addon.spawnProcess('/bin/true', [], [], '', [-2], false)).to.throw(TypeError, /fds\[0\]/);
  });

  it('names the program and the errno in the error of a failed spawn', async () => {
    let caught: unknown;
    await new NativeProcessSpawner(loadNativeBinding()).spawn('/nonexistent/prog', [], { env: {}, stdio: [] }).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(NativeError);
    expect((caught as NativeError).message).to.contain('/nonexistent/prog');
    expect((caught as NativeError).errno).to.equal(2);
  });
});
