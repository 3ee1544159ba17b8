/**
 * connectInNetns against a real network namespace as root: a server listens only inside the
 * namespace (on 127.0.0.1 and ::1); the returned fd carries data both ways through a
 * net.Socket; a closed port is refused quickly; our own threads never change namespace. The
 * namespace and the server are removed in after hooks.
 */
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

import { loadNativeBinding } from '../../native/addon';
import { NativeError, type NativeBinding } from '../../native/binding';
import { deleteNetnsIfAny, killAndWait } from './support/terminal';

const SERVER_SCRIPT = `
const net = require('net');
const port = Number(process.argv[1]);
let listening = 0;
for (const host of ['127.0.0.1', '::1']) {
  net.createServer((socket) => socket.on('data', (data) => socket.write('echo:' + data.toString())))
    .listen(port, host, () => { if (++listening === 2) console.log('listening'); });
}`;

/** Reads from `socket` until `expected` bytes arrived. */
function readExactly(socket: net.Socket, expected: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.length >= expected) resolve(received);
    });
    socket.on('error', reject);
  });
}

function threadNetNamespaces(): string[] {
  return fs.readdirSync('/proc/self/task').map((tid) => fs.readlinkSync(`/proc/self/task/${tid}/ns/net`));
}

describe('native addon (e2e, root): connectInNetns', function () {
  const name = `berth-nt-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const netnsPath = `/run/netns/${name}`;
  const port = 20000 + Math.floor(Math.random() * 20000);
  let native: NativeBinding;
  let server: ChildProcess | undefined;
  const sockets: net.Socket[] = [];

  before(async function () {
    expect(process.getuid?.(), 'these tests need root').to.equal(0);
    native = loadNativeBinding();
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
    server = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', SERVER_SCRIPT, String(port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.on('data', (data: Buffer) => {
        if (data.toString().includes('listening')) resolve();
      });
      server?.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await killAndWait(server);
    deleteNetnsIfAny(name);
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`connects to ${host} inside the namespace and data flows through net.Socket`, async () => {
      const before = threadNetNamespaces();
      const fd = await native.connectInNetns(netnsPath, host, port);
      expect(fd).to.be.a('number').and.to.be.greaterThan(2);
      const socket = new net.Socket({ fd, readable: true, writable: true });
      sockets.push(socket);
      const reply = readExactly(socket, 'echo:ping'.length);
      socket.write('ping');
      expect(await reply).to.equal('echo:ping');
      // The throwaway thread is gone and no thread of ours changed namespace.
      const ours = fs.readlinkSync('/proc/self/ns/net');
      expect(threadNetNamespaces().every((ns) => ns === ours)).to.equal(true);
      expect(before.every((ns) => ns === ours)).to.equal(true);
      expect(ours).to.not.equal(`net:[${fs.statSync(netnsPath).ino}]`);
      socket.destroy();
    });
  }

  it('the same port on the host is not the namespace server (connections stay in the namespace)', async () => {
    const hostAttempt = new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(await hostAttempt).to.equal('ECONNREFUSED');
  });

  it('rejects a port nobody listens on with ECONNREFUSED quickly', async () => {
    const started = Date.now();
    const closedPort = port === 65535 ? port - 1 : port + 1;
    try {
      await native.connectInNetns(netnsPath, '127.0.0.1', closedPort);
      expect.fail('connect resolved');
    } catch (error) {
      expect(error).to.be.instanceOf(NativeError);
      expect((error as NativeError).code).to.equal('ECONNREFUSED');
      expect((error as NativeError).errno).to.equal(111);
      expect((error as NativeError).message).to.contain(`connect to 127.0.0.1 port ${closedPort} in ${netnsPath}`);
    }
    expect(Date.now() - started).to.be.below(1000);
  });

  it('rejects a missing namespace path with ENOENT and a non-namespace file with EINVAL', async () => {
    try {
      await native.connectInNetns(`/run/netns/${name}-missing`, '127.0.0.1', port);
      expect.fail('connect resolved');
    } catch (error) {
      expect((error as NativeError).code).to.equal('ENOENT');
    }
    try {
      await native.connectInNetns('/etc/hostname', '127.0.0.1', port);
      expect.fail('connect resolved');
    } catch (error) {
      expect((error as NativeError).code).to.equal('EINVAL');
      expect((error as NativeError).message).to.contain('setns /etc/hostname');
    }
  });

  it('handles 20 concurrent connections', async () => {
    const fds = await Promise.all(Array.from({ length: 20 }, () => native.connectInNetns(netnsPath, '127.0.0.1', port)));
    expect(new Set(fds).size).to.equal(20);
    const replies = await Promise.all(
      fds.map((fd, i) => {
        const socket = new net.Socket({ fd, readable: true, writable: true });
        sockets.push(socket);
        const reply = readExactly(socket, `echo:${i}`.length);
        socket.write(String(i));
        return reply;
      }),
    );
    expect(replies).to.deep.equal(fds.map((_, i) => `echo:${i}`));
  });
});
