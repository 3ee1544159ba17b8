import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tty from 'node:tty';

import { loadNativeBinding } from './addon';
import { NativeError, type NativeBinding, type PtyPair } from './binding';

/** Runs `cmd` with the pty slave as stdin (and stdout unless `pipeOut`), resolving stdout and the exit code. */
function runOnSlave(slave: number, args: string[]): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { stdio: [slave, 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ out, code }));
  });
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed (handed to a stream)
  }
}

describe('native openPty / setWindowSize (real addon)', function () {
  this.timeout(20_000);
  let native: NativeBinding;
  const opened: number[] = [];
  const tempDirs: string[] = [];

  before(() => {
    native = loadNativeBinding();
  });

  afterEach(() => {
    for (const fd of opened.splice(0)) closeQuietly(fd);
    for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  function open(): PtyPair {
    const pair = native.openPty();
    opened.push(pair.master, pair.slave);
    return pair;
  }

  it('opens a master/slave pair whose slave is a /dev/pts terminal', () => {
    const pair = open();
    expect(pair.master).to.be.a('number').and.not.equal(pair.slave);
    expect(pair.slavePath).to.match(/^\/dev\/pts\/\d+$/);
    expect(fs.statSync(pair.slavePath).isCharacterDevice()).to.equal(true);
    expect(tty.isatty(pair.master)).to.equal(true);
    expect(tty.isatty(pair.slave)).to.equal(true);
  });

  it('sets the window size the slave side reads (stty size)', async () => {
    const pair = open();
    native.setWindowSize(pair.master, 40, 100);
    expect((await runOnSlave(pair.slave, ['stty', 'size'])).out.trim()).to.equal('40 100');
    native.setWindowSize(pair.master, 12, 34);
    expect((await runOnSlave(pair.slave, ['stty', 'size'])).out.trim()).to.equal('12 34');
  });

  it('the pair is raw (no echo, no CR/LF translation); the master works as a tty.ReadStream and EIO ends it', async () => {
    const pair = open();
    const master = new tty.ReadStream(pair.master);
    opened.splice(opened.indexOf(pair.master), 1); // the stream owns it now
    let output = '';
    const ended = new Promise<string>((resolve) => {
      master.on('data', (d: Buffer) => (output += d.toString()));
      master.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      master.on('end', () => resolve('end'));
    });
    const child = spawn('/bin/sh', ['-c', 'read x; echo "got $x"; echo oops >&2; exit 3'], { stdio: [pair.slave, pair.slave, pair.slave] });
    fs.closeSync(pair.slave);
    opened.splice(opened.indexOf(pair.slave), 1);
    master.write('hello\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).to.equal(3);
    expect(await ended).to.be.oneOf(['EIO', 'end']);
    master.destroy();
    expect(output).to.equal('got hello\noops\n');
  });

  it('setWindowSize on something that is not a terminal fails with ENOTTY naming the fd', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-native-pty-'));
    tempDirs.push(dir);
    const fd = fs.openSync(path.join(dir, 'plain'), 'w');
    opened.push(fd);
    let caught: unknown;
    try {
      native.setWindowSize(fd, 1, 1);
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(NativeError);
    expect((caught as NativeError).code).to.equal('ENOTTY');
    expect((caught as NativeError).message).to.contain(`fd ${fd}`);
  });

  it('rejects bad arguments with TypeErrors', () => {
    expect(() => native.setWindowSize(-1, 1, 1)).to.throw(TypeError, /fd/);
    expect(() => native.setWindowSize(0, 70000, 1)).to.throw(TypeError, /rows/);
  });
});

describe('native streamFd on a pty master (real addon)', function () {
  this.timeout(20_000);
  let native: NativeBinding;
  const opened: number[] = [];

  before(() => {
    native = loadNativeBinding();
  });

  afterEach(() => {
    for (const fd of opened.splice(0)) closeQuietly(fd);
  });

  it('writes to a full terminal never block the event loop (a tty.ReadStream would freeze it)', async () => {
    const pair = native.openPty();
    opened.push(pair.slave); // nobody reads the slave: the terminal fills up
    const master = native.streamFd(pair.master, { onPacket: () => undefined, onEnd: () => undefined });
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      let sent = false;
      void master.send(Buffer.alloc(256 * 1024, 'a')).then(() => (sent = true), () => undefined);
      await new Promise((r) => setTimeout(r, 300));
      clearInterval(timer);
      expect(ticks).to.be.greaterThan(10); // the loop kept running
      expect(sent).to.equal(false); // the write waits for room instead of blocking
    } finally {
      master.close();
    }
  });

  it('relays a child`s output and ends with EIO once every slave fd is closed', async () => {
    const pair = native.openPty();
    let output = '';
    let ended: (e?: NativeError) => void = () => undefined;
    const end = new Promise<NativeError | undefined>((resolve) => (ended = resolve));
    const master = native.streamFd(pair.master, { onPacket: (p) => (output += p.toString()), onEnd: (e) => ended(e) });
    try {
      const child = spawn('/bin/sh', ['-c', 'read x; echo "got $x"'], { stdio: [pair.slave, pair.slave, pair.slave] });
      fs.closeSync(pair.slave);
      await master.send(Buffer.from('typed\n'));
      await new Promise((resolve) => child.on('exit', resolve));
      expect((await end)?.code).to.equal('EIO');
      expect(output).to.equal('got typed\n');
    } finally {
      master.close();
    }
  });
});
