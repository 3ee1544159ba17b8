import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RuntimeError } from '../../common/errors';
import { connectSpdy } from '../../test/support/spdy-client';
import { connectWs } from '../../test/support/ws-stream-client';
import { startLocalStreamingServer, type LocalStreamingFixture } from '../testing/streaming-fixtures';

describe('streaming server: TLS', () => {
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let f: LocalStreamingFixture | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-streaming-tls-'));
    certFile = path.join(dir, 'cert.pem');
    keyFile = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await f?.server.close();
    f = undefined;
  });

  it('serves https URLs; SPDY and WebSocket sessions work over TLS', async () => {
    f = await startLocalStreamingServer({ tls: { certFile, keyFile } });
    const ca = await readFile(certFile);
    const url = f.server.getExecUrl({ containerId: 'c', cmd: ['/bin/sh', '-c', 'echo secure; exit 2'], tty: false, stdin: false, stdout: true, stderr: false });
    expect(url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/exec\//);
    const { session, protocol } = await connectSpdy(url, ['v4.channel.k8s.io'], { ca });
    expect(protocol).to.equal('v4.channel.k8s.io');
    session.destroy(); // token used; the WebSocket path gets its own
    const ws = await connectWs(f.server.getExecUrl({ containerId: 'c', cmd: ['/bin/echo', 'tls-ws'], tty: false, stdin: false, stdout: true, stderr: false }), ['v5.channel.k8s.io'], { ca });
    await ws.closed;
    expect(ws.channelData(1).toString()).to.equal('tls-ws\n');
  });

  it('fails to start with a RuntimeError when the key cannot be read', async () => {
    const err = await startLocalStreamingServer({ tls: { certFile, keyFile: path.join(dir, 'missing.pem') } }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RuntimeError);
  });
});
