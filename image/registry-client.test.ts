import { expect } from 'chai';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { errorKindOf } from '../common/errors';
import { silentLogger } from '../common/logger';
import { RegistryClient, isLocalhost } from './registry-client';
import { MEDIA } from './manifest';
import { rejection } from '../common/testing/rejection-fixtures';

interface Seen {
  path: string;
  authorization?: string;
  accept?: string;
}

/** A scripted registry on 127.0.0.1: `route` answers each request. */
async function serve(route: (req: http.IncomingMessage, res: http.ServerResponse, port: number) => void): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization, accept: req.headers.accept });
    route(req, res, (server.address() as AddressInfo).port);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('image/registry-client', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  it('knows loopback hosts', () => {
    expect(isLocalhost('localhost:5000')).to.equal(true);
    expect(isLocalhost('127.0.0.1:5000')).to.equal(true);
    expect(isLocalhost('[::1]:5000')).to.equal(true);
    expect(isLocalhost('registry.k8s.io')).to.equal(false);
  });

  it('answers a Basic challenge with the credentials and asks for every manifest type', async () => {
    const reg = await serve((req, res) => {
      if (req.headers.authorization !== 'Basic ' + Buffer.from('u:p').toString('base64')) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': MEDIA.ociManifest }).end('{"x":1}');
    });
    closers.push(reg.close);
    const client = new RegistryClient({ host: `127.0.0.1:${reg.port}`, insecure: false, logger: silentLogger, credentials: { username: 'u', password: 'p' } });
    const m = await client.getManifest('a/b', 'v1');
    expect(m.body.toString()).to.equal('{"x":1}');
    expect(m.contentType).to.equal(MEDIA.ociManifest);
    expect(reg.seen.map((s) => s.path)).to.deep.equal(['/v2/a/b/manifests/v1', '/v2/a/b/manifests/v1']);
    expect(reg.seen[0]!.accept).to.include(MEDIA.ociIndex).and.include(MEDIA.dockerManifest);
  });

  it('follows a blob redirect to another host without sending registry credentials', async () => {
    const storage = await serve((_req, res) => res.writeHead(200).end('blobdata'));
    closers.push(storage.close);
    const reg = await serve((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return;
      }
      res.writeHead(307, { location: `http://localhost:${storage.port}/signed?x=1` }).end();
    });
    closers.push(reg.close);
    const client = new RegistryClient({ host: `127.0.0.1:${reg.port}`, insecure: false, logger: silentLogger, credentials: { username: 'u', password: 'p' } });
    const res = await client.openBlob('a/b', 'sha256:' + 'a'.repeat(64));
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).to.equal('blobdata');
    expect(storage.seen).to.have.length(1);
    expect(storage.seen[0]!.authorization).to.equal(undefined);
  });

  it('maps statuses to typed errors and refuses oversized manifests', async () => {
    const reg = await serve((req, res) => {
      if (req.url!.includes('missing')) res.writeHead(404).end('{"errors":[]}');
      else if (req.url!.includes('busy')) res.writeHead(429).end();
      else if (req.url!.includes('denied')) res.writeHead(403).end();
      else res.writeHead(200).end(Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
    });
    closers.push(reg.close);
    const client = new RegistryClient({ host: `127.0.0.1:${reg.port}`, insecure: false, logger: silentLogger });
    const kind = async (ref: string): Promise<string | undefined> => {
      try {
        await client.getManifest('a', ref);
        return 'ok';
      } catch (err) {
        return errorKindOf(err);
      }
    };
    expect(await kind('missing')).to.equal('NotFound');
    expect(await kind('busy')).to.equal('Unavailable');
    expect(await kind('denied')).to.equal('FailedPrecondition');
    expect(await kind('huge')).to.equal('FailedPrecondition');
  });

  it('never uses plain HTTP for a remote registry that is not marked insecure', async () => {
    const client = new RegistryClient({ host: '192.0.2.1:1', insecure: false, logger: silentLogger, signal: AbortSignal.timeout(300) });
    const caught = await rejection(client.getManifest('a', 'b'));
    expect(String((caught as Error).message)).to.match(/connect to https:\/\/192\.0\.2\.1:1/);
  });
});
