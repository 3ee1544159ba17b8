import { expect } from 'chai';
import * as http from 'node:http';
import { ResourceExhaustedError } from '../../common/errors';
import { connectSpdy, spdyRemoteCommand, UpgradeRefusedError } from '../../test/support/spdy-client';
import { startLocalStreamingServer, type LocalStreamingFixture } from '../testing/streaming-fixtures';
import { TokenStore } from './token-store';

function plainGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

async function upgradeStatus(url: string): Promise<number> {
  try {
    const c = await connectSpdy(url, ['v4.channel.k8s.io', 'portforward.k8s.io']);
    c.session.destroy();
    return 101;
  } catch (err) {
    if (err instanceof UpgradeRefusedError) return err.statusCode;
    throw err;
  }
}

describe('streaming server: tokens and routes', () => {
  let f: LocalStreamingFixture;
  afterEach(async () => {
    await f.server.close();
  });

  const execReq = { containerId: 'c1', cmd: ['/bin/true'], tty: false, stdin: false, stdout: true, stderr: false };

  it('issues URL-safe random tokens under /exec, /attach and /portforward on the bound address', async () => {
    f = await startLocalStreamingServer();
    const a = f.server.getExecUrl(execReq);
    const b = f.server.getExecUrl(execReq);
    expect(a).to.match(new RegExp(`^http://127\\.0\\.0\\.1:${f.server.port}/exec/[A-Za-z0-9_-]{32}$`));
    expect(a).to.not.equal(b);
    expect(f.server.getAttachUrl({ containerId: 'c', tty: false, stdin: false, stdout: true, stderr: false })).to.contain('/attach/');
    expect(f.server.getPortForwardUrl({ podSandboxId: 'p', ports: [80] })).to.contain('/portforward/');
  });

  it('answers 404 for an unknown token, a used token and a token on the wrong route', async () => {
    f = await startLocalStreamingServer();
    expect(await upgradeStatus(`${f.server.url}/exec/doesnotexist`)).to.equal(404);
    const url = f.server.getExecUrl(execReq);
    const rc = await spdyRemoteCommand(url, {});
    await rc.error;
    expect(await upgradeStatus(url)).to.equal(404);
    const wrong = f.server.getExecUrl(execReq).replace('/exec/', '/attach/');
    expect(await upgradeStatus(wrong)).to.equal(404);
  });

  it('answers 404 once a token has expired', async () => {
    f = await startLocalStreamingServer({ tokenTtlMs: 50 });
    const url = f.server.getExecUrl(execReq);
    await new Promise((r) => setTimeout(r, 120));
    expect(await upgradeStatus(url)).to.equal(404);
  });

  it('answers 400 to a valid token without an upgrade, and burns the token', async () => {
    f = await startLocalStreamingServer();
    const url = f.server.getExecUrl(execReq);
    expect(await plainGet(url)).to.equal(400);
    expect(await plainGet(url)).to.equal(404);
  });

  it('bounds the number of pending tokens', () => {
    const store = new TokenStore({ maxInFlight: 2 });
    store.insert({ kind: 'portforward', podSandboxId: 'p', ports: [] });
    store.insert({ kind: 'portforward', podSandboxId: 'p', ports: [] });
    expect(() => store.insert({ kind: 'portforward', podSandboxId: 'p', ports: [] })).to.throw(ResourceExhaustedError);
  });

  it('frees expired tokens for new requests', () => {
    let now = 1000;
    const store = new TokenStore({ maxInFlight: 1, ttlMs: 10, now: () => now });
    const t = store.insert({ kind: 'portforward', podSandboxId: 'p', ports: [] });
    now += 10;
    expect(store.size).to.equal(0);
    expect(store.consume(t)).to.equal(undefined);
    expect(() => store.insert({ kind: 'portforward', podSandboxId: 'p', ports: [] })).to.not.throw();
  });
});
