/**
 * A minimal stand-in for kube-apiserver, just enough for `kubectl exec/attach/port-forward`
 * against one pod: it serves the pod object and API discovery, and proxies the upgrade requests
 * to a streaming URL obtained like kubelet does (an Exec/PortForward "RPC" per request), so
 * kubectl's own SPDY and WebSocket clients talk to our streaming server byte for byte.
 */
import * as http from 'node:http';
import * as net from 'node:net';

/** What the fake apiserver needs to mint streaming URLs (StreamingServer has these). */
export interface StreamingUrlMinter {
  getExecUrl(req: { containerId: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): string;
  getAttachUrl(req: { containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }): string;
  getPortForwardUrl(req: { podSandboxId: string; ports: number[] }): string;
}

export interface FakeApiserver {
  url: string;
  close(): Promise<void>;
}

const POD_NAME = 'streamer';

function pod(): unknown {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: POD_NAME, namespace: 'default', uid: '00000000-0000-0000-0000-000000000001' },
    spec: { containers: [{ name: 'main', image: 'busybox' }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: {} } }] },
  };
}

const DISCOVERY: Record<string, unknown> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
      { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'pods/portforward', singularName: '', namespaced: true, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
    ],
  },
};

const truthy = (v: string | null) => v === 'true' || v === '1';

/** Starts the fake apiserver on loopback. `pod name` is always "streamer" in namespace default. */
export async function startFakeApiserver(minter: StreamingUrlMinter): Promise<FakeApiserver> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = DISCOVERY[url.pathname] ?? (url.pathname === `/api/v1/namespaces/default/pods/${POD_NAME}` ? pod() : undefined);
    if (body === undefined) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1\/namespaces\/default\/pods\/[^/]+\/(exec|attach|portforward)$/.exec(url.pathname);
    if (!m) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const q = url.searchParams;
    const io = { tty: truthy(q.get('tty')), stdin: truthy(q.get('stdin')), stdout: truthy(q.get('stdout')), stderr: truthy(q.get('stderr')) };
    const target =
      m[1] === 'exec'
        ? minter.getExecUrl({ containerId: 'main', cmd: q.getAll('command'), ...io })
        : m[1] === 'attach'
          ? minter.getAttachUrl({ containerId: 'main', ...io })
          : minter.getPortForwardUrl({ podSandboxId: 'pod', ports: q.getAll('ports').map(Number) });
    const t = new URL(target);
    // Same query (ports for WebSocket port-forward), new path; headers passed through as kubelet's proxy does.
    const path = t.pathname + url.search;
    const upstream = net.connect(Number(t.port), t.hostname, () => {
      const lines = [`${req.method} ${path} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A kubeconfig pointing kubectl at `serverUrl` without credentials. */
export function kubeconfigFor(serverUrl: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${serverUrl}`,
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: nobody',
    '    namespace: default',
    'current-context: fake',
    'users:',
    '- name: nobody',
    '  user: {}',
    '',
  ].join('\n');
}
