/**
 * A tiny HTTP server answering the node.k8s.io/v1 runtimeclasses calls `runtimeclasses sync`
 * makes, recording every request (method, path with query, parsed body, authorization) so tests
 * can assert exactly what was sent. Test support only.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeClassObject } from './plan';

/** One request the server received. */
export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
}

const COLLECTION = '/apis/node.k8s.io/v1/runtimeclasses';

/** The fake apiserver: `objects` is its storage; set `forbidden` to answer every call 403. */
export class FakeApiserver {
  readonly requests: RecordedRequest[] = [];
  readonly objects = new Map<string, RuntimeClassObject>();
  forbidden = false;
  private server?: http.Server;
  private nextVersion = 100;

  /** Listens on 127.0.0.1 and a free port; resolves to the base URL. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Adds a stored object, giving it a resourceVersion. */
  put(object: RuntimeClassObject): void {
    this.objects.set(object.metadata.name, { ...object, metadata: { ...object.metadata, resourceVersion: String(this.nextVersion++) } });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body: unknown = text ? JSON.parse(text) : undefined;
      const path = req.url ?? '';
      this.requests.push({ method: req.method ?? '', path, body, authorization: req.headers.authorization });
      const send = (code: number, value: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (this.forbidden) {
        send(403, status(403, 'Forbidden', `runtimeclasses.node.k8s.io is forbidden: User "system:anonymous" cannot list resource "runtimeclasses" in API group "node.k8s.io" at the cluster scope`));
        return;
      }
      const url = new URL(path, 'http://x');
      if (req.method === 'GET' && url.pathname === COLLECTION) {
        send(200, { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClassList', metadata: { resourceVersion: String(this.nextVersion) }, items: [...this.objects.values()] });
      } else if (req.method === 'POST' && url.pathname === COLLECTION) {
        const object = body as RuntimeClassObject;
        if (this.objects.has(object.metadata.name)) send(409, status(409, 'AlreadyExists', `runtimeclasses.node.k8s.io "${object.metadata.name}" already exists`));
        else {
          this.put(object);
          send(201, this.objects.get(object.metadata.name));
        }
      } else if (req.method === 'PUT' && url.pathname.startsWith(COLLECTION + '/')) {
        const name = decodeURIComponent(url.pathname.slice(COLLECTION.length + 1));
        const object = body as RuntimeClassObject;
        const current = this.objects.get(name);
        if (!current) send(404, status(404, 'NotFound', `runtimeclasses.node.k8s.io "${name}" not found`));
        else if (current.metadata.resourceVersion !== object.metadata.resourceVersion) send(409, status(409, 'Conflict', 'the object has been modified'));
        else {
          this.put(object);
          send(200, this.objects.get(name));
        }
      } else send(404, status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${path})`));
    });
  }
}

function status(code: number, reason: string, message: string): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/**
 * A kubeconfig text pointing at `server` with a bearer token. client-node refuses plain http
 * unless the cluster says insecure-skip-tls-verify (as for a `kubectl proxy` endpoint).
 */
export function kubeconfigFor(server: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: tester',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: test',
    '  context:',
    '    cluster: test',
    '    user: tester',
    'current-context: test',
    '',
  ].join('\n');
}
