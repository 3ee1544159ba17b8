/**
 * Test registries for e2e tests: Debian's `docker-registry` (distribution 2.x) started on
 * 127.0.0.1 with a free port, a temp storage dir and its own config, optionally behind htpasswd
 * Basic auth; plus a small Bearer-token front (`startTokenAuthRegistry`) that implements the
 * distribution token flow in front of a plain registry. Everything is removed by `stop()`.
 *
 *   const reg = await startRegistry();                      // plain HTTP, anonymous
 *   await pushImage(reg.host, 'library/busybox', 'latest', await busyboxImage());  // test-images.ts
 *   ...
 *   await reg.stop();                                       // in after()/afterEach()
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface TestRegistry {
  /** `127.0.0.1:PORT`, what image references use. */
  readonly host: string;
  readonly port: number;
  /** Credentials pushes and pulls need (undefined for anonymous registries). */
  readonly credentials?: { username: string; password: string };
  /** For the token front: the plain registry behind it (push there without auth). */
  readonly backendHost?: string;
  /** The registry's storage root (blobs live under docker/registry/v2/blobs/sha256/xx/<hex>/data). */
  readonly storageDir?: string;
  /** Number of requests that reached the front (token registries only). */
  readonly stats?: { tokenRequests: number; proxied: number };
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Protect the registry with htpasswd Basic auth. */
  readonly basicAuth?: { username: string; password: string };
  /** Serve HTTPS with this certificate (see makeTestCertificates). */
  readonly tls?: { certFile: string; keyFile: string };
  /** Serve another registry's storage (e.g. push over plain HTTP there, pull over HTTPS here). */
  readonly sharedStorageDir?: string;
}

/** A throwaway CA and a server certificate it signed for 127.0.0.1 / localhost (openssl). */
export async function makeTestCertificates(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const f = (n: string): string => path.join(dir, n);
  const q = { stdio: 'ignore' as const };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=berth test CA', '-keyout', f('ca.key'), '-out', f('ca.crt')], q);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr')], q);
  await fs.writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  execFileSync('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt')], q);
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') };
}

/** Path of a blob's data file in a registry's storage (to corrupt it in failure tests). */
export function registryBlobPath(storageDir: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHttp(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  // Any answer counts (an HTTPS registry answers plain HTTP with 400).
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited ${proc.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/v2/', timeout: 500 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on port ${port}: ${log()}`);
}

/** Starts a docker-registry on 127.0.0.1:<free port> with storage in a temp dir. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${opts.sharedStorageDir ?? path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.tls) lines.push('  tls:', `    certificate: ${opts.tls.certFile}`, `    key: ${opts.tls.keyFile}`);
  if (opts.basicAuth) {
    const htpasswd = execFileSync('htpasswd', ['-Bbn', opts.basicAuth.username, opts.basicAuth.password], { encoding: 'utf8' });
    await fs.writeFile(path.join(dir, 'htpasswd'), htpasswd);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${path.join(dir, 'htpasswd')}`);
  }
  await fs.writeFile(path.join(dir, 'config.yml'), lines.join('\n') + '\n');
  let output = '';
  const proc = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  proc.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(port, proc, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, port, credentials: opts.basicAuth, storageDir: opts.sharedStorageDir ?? path.join(dir, 'data'), stop };
}

/**
 * A registry that demands Bearer tokens: a small HTTP front on its own port answers `/v2/*` with
 * 401 `WWW-Authenticate: Bearer realm=…/token,service=berth-test,scope=…` until the client brings a
 * token from `/token` (issued for the given Basic credentials and a pull scope), then proxies to
 * a plain docker-registry behind it. Push test images to `backendHost`. A POST to `/token` with
 * the OAuth2 refresh-token grant works when `refreshToken` is set; `issueToken()` mints a token
 * directly (for AuthConfig.registry_token tests).
 */
export async function startTokenAuthRegistry(
  creds: { username: string; password: string },
  opts: { refreshToken?: string } = {},
): Promise<TestRegistry & { issueToken(): string }> {
  const backend = await startRegistry();
  const tokens = new Set<string>();
  const stats = { tokenRequests: 0, proxied: 0 };
  const port = await freePort();
  const realm = `http://127.0.0.1:${port}/token`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname === '/token' && req.method === 'POST') {
      // OAuth2 refresh-token grant (what clients do with an identity token).
      stats.tokenRequests++;
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const ok =
          opts.refreshToken !== undefined &&
          form.get('grant_type') === 'refresh_token' &&
          form.get('refresh_token') === opts.refreshToken &&
          form.get('service') === 'berth-test' &&
          /:pull/.test(form.get('scope') ?? '');
        if (!ok) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
          return;
        }
        const token = randomBytes(24).toString('hex');
        tokens.add(token);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: 300 }));
      });
      return;
    }
    if (url.pathname === '/token') {
      stats.tokenRequests++;
      const expected = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      const scope = url.searchParams.getAll('scope').join(' ');
      if (req.headers.authorization !== expected || url.searchParams.get('service') !== 'berth-test' || !/:pull/.test(scope)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const token = randomBytes(24).toString('hex');
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) {
      const repo = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1];
      const scope = repo ? `,scope="repository:${repo}:pull"` : '';
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="${realm}",service="berth-test"${scope}`,
        'content-type': 'application/json',
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    stats.proxied++;
    const headers = { ...req.headers };
    delete headers.authorization;
    headers.host = backend.host;
    const up = http.request({ host: '127.0.0.1', port: backend.port, method: req.method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    port,
    credentials: creds,
    backendHost: backend.host,
    storageDir: backend.storageDir,
    stats,
    issueToken: () => {
      const token = randomBytes(24).toString('hex');
      tokens.add(token);
      return token;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backend.stop();
    },
  };
}
