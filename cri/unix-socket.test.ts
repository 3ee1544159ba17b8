import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { silentLogger } from '../common/logger';
import { createCriClient } from '../test/support/cri-client';
import { createCriServer, type CriServer } from './server';
import { isSocketLive, prepareSocketPath } from './unix-socket';

/** Asserts that a CRI client on `p` gets berth's Version answer. */
async function expectServesBerth(p: string): Promise<void> {
  const client = createCriClient(p);
  try {
    expect((await client.version({})).runtimeName).to.equal('berth');
  } finally {
    client.close();
  }
}

describe('cri/unix-socket', function () {
  this.timeout(20000);
  let dir: string;
  const servers: CriServer[] = [];
  const netServers: net.Server[] = [];

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cri-sock-'));
  });

  afterEach(async () => {
    for (const s of servers.splice(0)) await s.shutdown(200);
    for (const s of netServers.splice(0)) await new Promise((r) => s.close(r));
    await fs.rm(dir, { recursive: true, force: true });
  });

  function versionServer(): CriServer {
    const s = createCriServer({ handlers: { Version: async () => ({ runtimeName: 'berth' }) }, logger: silentLogger });
    servers.push(s);
    return s;
  }

  /** Leaves a socket file nobody listens on (a berthd that was killed). */
  async function staleSocket(p: string): Promise<void> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(p, r));
    // Closing a listening unix server unlinks the file; keep a copy of the inode by hard link.
    await fs.link(p, `${p}.keep`);
    await new Promise((r) => s.close(r));
    await fs.rename(`${p}.keep`, p);
  }

  it('creates parent directories and sets mode 0660', async () => {
    const p = path.join(dir, 'a', 'b', 'berth.sock');
    await versionServer().listen(p);
    const st = await fs.stat(p);
    expect(st.isSocket()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o660);
  });

  it('replaces a stale socket file and serves on it', async () => {
    const p = path.join(dir, 'berth.sock');
    await staleSocket(p);
    expect((await fs.lstat(p)).isSocket()).to.equal(true);
    expect(await isSocketLive(p)).to.equal(false);
    await versionServer().listen(p);
    await expectServesBerth(p);
  });

  it('refuses a socket another process is serving, and leaves it working', async () => {
    const p = path.join(dir, 'berth.sock');
    await versionServer().listen(p);
    const second = createCriServer({ handlers: {}, logger: silentLogger });
    servers.push(second);
    let err: unknown;
    await second.listen(p).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect((err as Error).message).to.match(/another process is already serving this socket/);
    await expectServesBerth(p);
  });

  it('refuses to replace a path that is not a socket', async () => {
    const p = path.join(dir, 'berth.sock');
    await fs.writeFile(p, 'not a socket');
    let err: unknown;
    await prepareSocketPath(p).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect(await fs.readFile(p, 'utf8')).to.equal('not a socket');
  });

  it('refuses a relative path', async () => {
    let err: unknown;
    await prepareSocketPath('run/berth.sock').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(InvalidArgumentError);
  });

  it('removes the socket file on shutdown and refuses to listen again', async () => {
    const p = path.join(dir, 'berth.sock');
    const s = versionServer();
    await s.listen(p);
    await s.shutdown(100);
    let gone = false;
    await fs.lstat(p).catch(() => (gone = true));
    expect(gone).to.equal(true);
    let err: unknown;
    await s.listen(p).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(FailedPreconditionError);
  });

  it('detects a live listener', async () => {
    const p = path.join(dir, 'live.sock');
    const s = net.createServer((c) => c.destroy());
    netServers.push(s);
    await new Promise<void>((r) => s.listen(p, r));
    expect(await isSocketLive(p)).to.equal(true);
  });
});
