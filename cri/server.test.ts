import { status as GrpcStatus } from '@grpc/grpc-js';
import { expect } from 'chai';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { NotFoundError, RuntimeError, UnavailableError } from '../common/errors';
import { createLogger, type Logger } from '../common/logger';
import { isServiceError, type CriClient } from '../test/support/cri-client';
import { runtime } from './api/generated/cri';
import { CRI_METHOD_NAMES, CRI_METHODS, mergeHandlers, type CriHandlers } from './handlers';
import { createCriServer } from './server';
import { runtimeInfoHandlers, type RuntimeStatusSource } from './runtime/info-handlers';
import { typedErrorCases } from './testing/grpc-error-fixtures';
import { criServerEach } from './testing/server-fixtures';

/** Collects log lines as objects. */
function collectingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l)) }) };
}

async function expectGrpcError(p: Promise<unknown>, code: GrpcStatus, details?: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isServiceError(err)) throw err;
    expect(GrpcStatus[err.code], err.details).to.equal(GrpcStatus[code]);
    if (details) expect(err.details).to.match(details);
    return;
  }
  expect.fail(`expected gRPC ${GrpcStatus[code]}`);
}

describe('cri/server (in-process, unix socket)', function () {
  this.timeout(20000);
  const srv = criServerEach('berth-cri-', 'run/berth.sock', 500);
  let observed: Array<[string, string, string, number]>;
  let networkState: { ready: boolean; reason?: string; message?: string };
  let log: ReturnType<typeof collectingLogger>;

  const statusSource: RuntimeStatusSource = {
    networkReady: () => networkState,
    runtimeHandlers: () => [{ name: 'runc' }, { name: 'crun', features: { recursiveReadOnlyMounts: true } }],
    verboseInfo: () => ({ config: '{"root":"/var/lib/berth"}', note: 'plain text' }),
  };

  async function start(extra: CriHandlers = {}): Promise<CriClient> {
    log = collectingLogger();
    const handlers = mergeHandlers(runtimeInfoHandlers({ runtimeVersion: '0.1.0-test', status: statusSource, cgroupDriver: 'cgroupfs' }), extra);
    return srv.serve(createCriServer({ handlers, logger: log.logger, observer: { observe: (...a) => observed.push(a) } }));
  }

  beforeEach(() => {
    observed = [];
    networkState = { ready: true };
  });

  it('answers Version', async () => {
    const c = await start();
    const res = await c.version({ version: 'v1' });
    expect(res).to.include({ version: '0.1.0', runtimeName: 'berth', runtimeVersion: '0.1.0-test', runtimeApiVersion: 'v1' });
  });

  it('answers Status with both conditions, handlers with features, and verbose info as JSON', async () => {
    const c = await start();
    const res = (await c.status({ verbose: true })) as runtime.v1.StatusResponse;
    expect(res.status?.conditions?.map((x) => [x.type, x.status])).to.deep.equal([
      ['RuntimeReady', true],
      ['NetworkReady', true],
    ]);
    expect(res.runtimeHandlers.map((h) => [h.name, h.features?.recursiveReadOnlyMounts])).to.deep.equal([
      ['runc', false],
      ['crun', true],
    ]);
    expect(JSON.parse(res.info.config)).to.deep.equal({ root: '/var/lib/berth' });
    expect(JSON.parse(res.info.note)).to.equal('plain text');
    const quiet = await c.status({});
    expect(quiet.info).to.deep.equal({});
  });

  it('reports NetworkReady=false with reason and message', async () => {
    networkState = { ready: false, reason: 'NoCNIConfig', message: 'no network config in /etc/cni/net.d' };
    const c = await start();
    const res = await c.status({});
    const net = res.status?.conditions?.find((x) => x.type === 'NetworkReady');
    expect(net).to.include({ status: false, reason: 'NoCNIConfig', message: 'no network config in /etc/cni/net.d' });
  });

  it('answers RuntimeConfig with the cgroup driver', async () => {
    const c = await start();
    const res = await c.runtimeConfig({});
    expect(res.linux?.cgroupDriver).to.equal(runtime.v1.CgroupDriver.CGROUPFS);
  });

  it('answers every RPC of both services; unregistered ones are UNIMPLEMENTED naming the RPC', async () => {
    const c = await start();
    expect(CRI_METHOD_NAMES).to.have.length(41);
    const registered = new Set(['Version', 'Status', 'RuntimeConfig', 'UpdateRuntimeConfig']);
    for (const method of CRI_METHOD_NAMES) {
      if (registered.has(method)) continue;
      const service = CRI_METHODS[method].service;
      const name = (method.charAt(0).toLowerCase() + method.slice(1)) as keyof CriClient;
      const call = (c[name] as (r?: unknown) => unknown)({});
      const done = CRI_METHODS[method].serverStreaming
        ? (async () => {
            for await (const _ of call as AsyncIterable<unknown>) expect.fail(`${method} streamed a message`);
          })()
        : (call as Promise<unknown>);
      await expectGrpcError(done, GrpcStatus.UNIMPLEMENTED, new RegExp(`^${service}\\.${method} is not implemented by berth yet$`));
    }
    expect(observed.filter((o) => o[2] === 'UNIMPLEMENTED')).to.have.length(37);
  });

  it('maps typed errors to gRPC codes and keeps the wrapped message chain', async () => {
    const cases = typedErrorCases();
    let next = 0;
    const c = await start({
      RemovePodSandbox: async () => {
        throw cases[next][0];
      },
    });
    for (; next < cases.length; next++) {
      const [err, code] = cases[next];
      await expectGrpcError(c.removePodSandbox({ podSandboxId: 'x' }), code);
      await c.removePodSandbox({ podSandboxId: 'x' }).catch((e: unknown) => {
        if (!isServiceError(e)) throw e;
        expect(e.details.startsWith(err.message)).to.equal(true);
      });
    }
    // The cause chain is in the details.
    next = 7;
    await expectGrpcError(c.removePodSandbox({ podSandboxId: 'x' }), GrpcStatus.INTERNAL, /^remove pod p1: EBUSY$/);
    const untyped = log.lines.find((l) => l.kind === 'untyped');
    expect(untyped, 'untyped error logged with kind').to.include({ level: 'error', rpc: 'RemovePodSandbox', code: 'UNKNOWN' });
    const typed = log.lines.find((l) => l.code === 'ALREADY_EXISTS');
    expect(typed).to.include({ kind: 'AlreadyExists', level: 'warn' });
  });

  it('calls the observer once per call with the service, method, code name and duration', async () => {
    const c = await start({ StopPodSandbox: async () => ({}) });
    await c.version({});
    await c.stopPodSandbox({ podSandboxId: 'p' });
    await c.pullImage({}).catch(() => undefined);
    expect(observed.map((o) => o.slice(0, 3))).to.deep.equal([
      ['RuntimeService', 'Version', 'OK'],
      ['RuntimeService', 'StopPodSandbox', 'OK'],
      ['ImageService', 'PullImage', 'UNIMPLEMENTED'],
    ]);
    for (const o of observed) expect(o[3]).to.be.a('number').within(0, 5);
    expect(log.lines.some((l) => l.msg === 'rpc done' && l.rpc === 'Version' && l.level === 'debug')).to.equal(true);
  });

  it('answers a handler that returns or throws synchronously in the same turn, before queued microtasks, observed once each', async () => {
    const marker = (): void => void observed.push(['microtask', '', '', 0]);
    const c = await start({
      StopPodSandbox: () => {
        queueMicrotask(marker);
        return {};
      },
      RemovePodSandbox: () => {
        queueMicrotask(marker);
        throw new NotFoundError('pod sandbox "p" not found');
      },
      ListImages: () => ({ images: [null as unknown as runtime.v1.IImage] }),
    });
    await c.stopPodSandbox({ podSandboxId: 'p' });
    await expectGrpcError(c.removePodSandbox({ podSandboxId: 'p' }), GrpcStatus.NOT_FOUND, /^pod sandbox "p" not found$/);
    await expectGrpcError(c.listImages({}), GrpcStatus.INTERNAL, /encode ListImages response/);
    // A promise would have let the handler's microtask run first; a synchronous answer leaves before it.
    expect(observed.map((o) => o.slice(0, 3))).to.deep.equal([
      ['RuntimeService', 'StopPodSandbox', 'OK'],
      ['microtask', '', ''],
      ['RuntimeService', 'RemovePodSandbox', 'NOT_FOUND'],
      ['microtask', '', ''],
      ['ImageService', 'ListImages', 'INTERNAL'],
    ]);
  });

  it('passes decoded requests (defaults filled) and encodes int64 fields as numbers', async () => {
    let seen: runtime.v1.IStopContainerRequest | undefined;
    const c = await start({
      StopContainer: async (req) => {
        seen = req;
        return {};
      },
      ListPodSandbox: async () => ({ items: [{ id: 'p1', createdAt: 1732520000123456000, state: runtime.v1.PodSandboxState.SANDBOX_NOTREADY }] }),
    });
    await c.stopContainer({ containerId: 'c1', timeout: 30 });
    expect(seen).to.include({ containerId: 'c1', timeout: 30 });
    const list = await c.listPodSandbox({});
    expect(list.items?.[0]).to.include({ id: 'p1', createdAt: 1732520000123456000, state: runtime.v1.PodSandboxState.SANDBOX_NOTREADY });
  });

  it('turns an unencodable response into INTERNAL', async () => {
    const c = await start({ RemoveContainer: async () => ({ bogus: 1 }) as runtime.v1.IRemoveContainerResponse });
    // Extra fields are ignored by the encoder, so this one is fine…
    await c.removeContainer({ containerId: 'x' });
    const c2 = await restartWith({ ListImages: async () => ({ images: [null as unknown as runtime.v1.IImage] }) });
    await expectGrpcError(c2.listImages({}), GrpcStatus.INTERNAL, /encode ListImages response/);
  });

  async function restartWith(handlers: CriHandlers): Promise<CriClient> {
    srv.client?.close();
    await srv.server?.shutdown(200);
    return start(handlers);
  }

  it('streams GetContainerEvents and aborts the handler signal when the client cancels', async () => {
    let aborted: Promise<void> | undefined;
    const c = await start({
      GetContainerEvents: async (_req, call) => {
        aborted = new Promise((resolve) => call.signal.addEventListener('abort', () => resolve()));
        for (let i = 0; i < 3; i++) {
          await call.write({ containerId: `c${i}`, containerEventType: runtime.v1.ContainerEventType.CONTAINER_STARTED_EVENT, createdAt: 1000 + i });
        }
        await aborted;
      },
    });
    const stream = c.getContainerEvents({});
    const got: string[] = [];
    stream.on('error', () => undefined); // the cancel surfaces as a CANCELLED error on the client
    await new Promise<void>((resolve) => {
      stream.on('data', (ev: runtime.v1.IContainerEventResponse) => {
        got.push(ev.containerId ?? '');
        if (got.length === 3) {
          stream.cancel();
          resolve();
        }
      });
    });
    expect(got).to.deep.equal(['c0', 'c1', 'c2']);
    await aborted;
    await waitFor(() => observed.some((o) => o[1] === 'GetContainerEvents'));
    expect(observed.find((o) => o[1] === 'GetContainerEvents')?.[2]).to.equal('CANCELLED');
  });

  it('ends a server stream with the handler error status', async () => {
    const c = await start({
      StreamImages: async (_req, call) => {
        await call.write({ images: [{ id: 'sha256:1' }] });
        throw new NotFoundError('image store closed');
      },
    });
    const got: string[] = [];
    const consume = (async () => {
      for await (const msg of c.streamImages({})) got.push(...(msg.images ?? []).map((i: runtime.v1.IImage) => i.id ?? ''));
    })();
    await expectGrpcError(consume, GrpcStatus.NOT_FOUND, /image store closed/);
    expect(got).to.deep.equal(['sha256:1']);
  });

  it('aborts the handler signal when the deadline passes', async () => {
    let reason: unknown;
    const c = await start({
      PullImage: async (_req, call) => {
        await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve()));
        reason = call.signal.reason;
        throw call.signal.reason;
      },
    });
    await expectGrpcError(c.pullImage({ image: { image: 'busybox' } }, { timeoutMs: 200 }), GrpcStatus.DEADLINE_EXCEEDED);
    await waitFor(() => reason !== undefined);
    expect(String((reason as Error).message)).to.match(/PullImage (deadline exceeded|cancelled by the client)/);
  });

  /** Sends one unary call over raw HTTP/2 with `grpc-timeout` and no client-side timer; returns the server's grpc-status. */
  async function rawStatusWithTimeout(method: string, body: Uint8Array, grpcTimeout: string): Promise<number> {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(srv.socketPath) });
    try {
      const req = session.request({
        ':method': 'POST',
        ':path': `/runtime.v1.ImageService/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': grpcTimeout,
      });
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      req.end(frame);
      return await new Promise<number>((resolve, reject) => {
        let status: number | undefined;
        const take = (h: http2.IncomingHttpHeaders) => {
          if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
        };
        req.on('response', take);
        req.on('trailers', take);
        req.on('error', reject);
        req.resume();
        req.on('close', () => (status === undefined ? reject(new Error('no grpc-status')) : resolve(status)));
      });
    } finally {
      session.close();
    }
  }

  it('answers DEADLINE_EXCEEDED (never CANCELLED) when a 1 ms deadline passes, on the wire and in the metrics', async () => {
    await start({
      PullImage: async (_req, call) => {
        await new Promise<void>((resolve) => (call.signal.aborted ? resolve() : call.signal.addEventListener('abort', () => resolve())));
        throw call.signal.reason;
      },
    });
    const body = runtime.v1.PullImageRequest.encode({ image: { image: 'busybox' } }).finish();
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) codes.push(GrpcStatus[await rawStatusWithTimeout('PullImage', body, '1m')]!);
    expect(codes).to.deep.equal(codes.map(() => 'DEADLINE_EXCEEDED'));
    await waitFor(() => observed.filter((o) => o[1] === 'PullImage').length === 20);
    expect(new Set(observed.filter((o) => o[1] === 'PullImage').map((o) => o[2]))).to.deep.equal(new Set(['DEADLINE_EXCEEDED']));
  });

  it('ends a server stream whose handler returns at its deadline with DEADLINE_EXCEEDED on the wire, never OK', async () => {
    // As GetContainerEvents does: the handler simply returns once its signal aborts.
    await start({
      StreamImages: async (_req, call) => {
        await new Promise<void>((resolve) => (call.signal.aborted ? resolve() : call.signal.addEventListener('abort', () => resolve())));
      },
    });
    const body = runtime.v1.StreamImagesRequest.encode({}).finish();
    expect(GrpcStatus[await rawStatusWithTimeout('StreamImages', body, '50m')]).to.equal('DEADLINE_EXCEEDED');
    await waitFor(() => observed.some((o) => o[1] === 'StreamImages'));
    expect(observed.find((o) => o[1] === 'StreamImages')?.[2]).to.equal('DEADLINE_EXCEEDED');
  });

  it('maps a passed deadline to DEADLINE_EXCEEDED whatever error the handler made of the abort', async () => {
    let done = false;
    const c = await start({
      PullImage: async (_req, call) => {
        await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve()));
        try {
          // As a registry download reports it: a connection error wrapping the abort.
          throw new UnavailableError('connect to http://127.0.0.1:5000', { cause: call.signal.reason });
        } finally {
          done = true;
        }
      },
    });
    await expectGrpcError(c.pullImage({ image: { image: 'busybox' } }, { timeoutMs: 150 }), GrpcStatus.DEADLINE_EXCEEDED);
    await waitFor(() => done && observed.some((o) => o[1] === 'PullImage'));
    expect(observed.find((o) => o[1] === 'PullImage')?.[2]).to.equal('DEADLINE_EXCEEDED');
  });

  it('makes no AbortController for unary calls whose handler never reads its signal (Version, status and list calls)', async () => {
    const c = await start();
    await c.version({ version: 'v1' }, { timeoutMs: 10_000 });
    const Original = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        made++;
      }
    };
    try {
      for (let i = 0; i < 20; i++) await c.version({ version: 'v1' }, { timeoutMs: 10_000 });
    } finally {
      globalThis.AbortController = Original;
    }
    expect(made).to.equal(0);
    await waitFor(() => observed.filter((o) => o[1] === 'Version').length === 21);
  });

  it('builds no debug record for a successful call when the logger drops debug lines', async () => {
    let debugCalls = 0;
    const quiet: Logger = {
      debug: () => void debugCalls++,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
      child: () => quiet,
      enabled: (level) => level !== 'debug',
    };
    const client = await srv.serve(createCriServer({ handlers: runtimeInfoHandlers({ runtimeVersion: '0.1.0-test', status: statusSource, cgroupDriver: 'cgroupfs' }), logger: quiet, observer: { observe: (...a) => observed.push(a) } }));
    for (let i = 0; i < 5; i++) await client.version({ version: 'v1' });
    await waitFor(() => observed.length === 5);
    expect(debugCalls).to.equal(0);
  });

  it('answers DEADLINE_EXCEEDED for a handler that never read its signal and failed after the deadline', async () => {
    const c = await start({
      ImageFsInfo: async () => {
        await new Promise((r) => setTimeout(r, 150));
        throw new RuntimeError('disk scan failed');
      },
    });
    await expectGrpcError(c.imageFsInfo({}, { timeoutMs: 40 }), GrpcStatus.DEADLINE_EXCEEDED);
    await waitFor(() => observed.some((o) => o[1] === 'ImageFsInfo'));
    expect(observed.find((o) => o[1] === 'ImageFsInfo')?.[2]).to.equal('DEADLINE_EXCEEDED');
  });

  it('gives a handler that first reads its signal after the client cancelled an aborted signal', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let seen: boolean | undefined;
    const c = await start({
      ImageFsInfo: async (_req, call) => {
        started();
        await new Promise((r) => setTimeout(r, 150));
        seen = call.signal.aborted;
        throw new RuntimeError('stopped', { cause: call.signal.reason });
      },
    });
    const ac = new AbortController();
    const pending = c.imageFsInfo({}, { timeoutMs: 10_000, signal: ac.signal });
    await running;
    ac.abort();
    await pending.catch(() => undefined);
    await waitFor(() => observed.some((o) => o[1] === 'ImageFsInfo'));
    expect(seen).to.equal(true);
    expect(observed.find((o) => o[1] === 'ImageFsInfo')?.[2]).to.equal('CANCELLED');
  });

  it('keeps CANCELLED for a client that cancels before its deadline', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const c = await start({
      PullImage: async (_req, call) => {
        started();
        await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve()));
        throw new UnavailableError('connect to registry', { cause: call.signal.reason });
      },
    });
    const ac = new AbortController();
    const pending = c.pullImage({ image: { image: 'busybox' } }, { timeoutMs: 10_000, signal: ac.signal });
    await running;
    ac.abort();
    await pending.catch(() => undefined);
    await waitFor(() => observed.some((o) => o[1] === 'PullImage'));
    expect(observed.find((o) => o[1] === 'PullImage')?.[2]).to.equal('CANCELLED');
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
