import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../common/logger';
import { SystemdNotifier, systemdNotifySender } from './sd-notify';

describe('daemon/sd-notify', () => {
  it('does nothing without NOTIFY_SOCKET', async () => {
    const sent: string[] = [];
    const n = new SystemdNotifier({ env: {}, sender: async (m) => void sent.push(m), logger: silentLogger });
    await n.ready('x');
    await n.stopping();
    expect(n.enabled).to.equal(false);
    expect(sent).to.deep.equal([]);
  });

  it('sends READY=1, pings WATCHDOG=1 every half WATCHDOG_USEC, and STOPPING=1', async () => {
    const sent: string[] = [];
    const env = { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '60000', WATCHDOG_PID: '42' };
    const n = new SystemdNotifier({ env, sender: async (m) => void sent.push(m), logger: silentLogger, pid: 42 });
    expect(n.watchdogIntervalMs()).to.equal(30);
    await n.ready('serving CRI on /run/berth/berth.sock');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await n.stopping();
    const afterStop = sent.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(sent[0]).to.equal('READY=1\nSTATUS=serving CRI on /run/berth/berth.sock');
    expect(sent.filter((m) => m === 'WATCHDOG=1').length).to.be.within(2, 4);
    expect(sent[afterStop - 1]).to.equal('STOPPING=1');
    expect(sent.length).to.equal(afterStop);
  });

  it('sets no watchdog for another WATCHDOG_PID or without WATCHDOG_USEC, and survives a failing helper', async () => {
    expect(new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '7' }, logger: silentLogger, pid: 8 }).watchdogIntervalMs()).to.equal(undefined);
    expect(new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x' }, logger: silentLogger }).watchdogIntervalMs()).to.equal(undefined);
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x' }, sender: () => Promise.reject(new Error('no helper')), logger: silentLogger });
    await n.ready('x');
  });

  it('delivers READY=1 as a datagram on NOTIFY_SOCKET through systemd-notify', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sd-notify-'));
    const sock = path.join(dir, 'notify');
    // Node cannot open unix datagram sockets; python receives one datagram and prints it.
    const receiver = spawn('/usr/bin/python3', ['-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      receiver.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      // Listen before sending: the receiver may exit before systemd-notify returns.
      const exited = new Promise((resolve) => receiver.once('exit', resolve));
      const deadline = Date.now() + 5000;
      while (!fs.existsSync(sock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await systemdNotifySender({ ...process.env, NOTIFY_SOCKET: sock })('READY=1\nSTATUS=serving');
      await exited;
      expect(out.split('\n')).to.include.members(['READY=1', 'STATUS=serving']);
    } finally {
      receiver.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
# systemd-notify sends the message, then a BARRIER=1 datagram carrying an fd it waits to see
# closed (recv drops it): stay until the barrier too, else it fails with "Connection refused".
while True:
    try:
        data = s.recv(4096).decode()
    except socket.timeout:
        break
    if 'BARRIER=1' in data:
        break
    print(data, flush=True)
    s.settimeout(2)
`;
