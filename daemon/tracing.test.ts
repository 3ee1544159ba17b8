import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { UnavailableError } from '../common/errors';
import { silentLogger } from '../common/logger';
import type { CriHandlers } from '../cri/handlers';
import { createCriServer, type CriServer } from '../cri/server';
import { createCriClient, type CriClient } from '../test/support/cri-client';
import { DaemonMetrics } from './metrics';
import { callAttributes } from './tracing-attributes';
import { createOtelTracing } from './tracing-otel';
import type { DaemonTracing } from './tracing';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const PASSWORD = 's3cr3t-PA55w0rd';

/** Keeps the exported spans after shutdown (the SDK's in-memory exporter clears them then). */
class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('daemon/tracing attributes', () => {
  it('picks pod and container ids and names, never auth, env, command or annotations', () => {
    expect(callAttributes({ config: { metadata: { name: 'web', namespace: 'prod', uid: 'u-1', attempt: 0 }, annotations: { a: 'b' } }, runtimeHandler: 'runc' })).to.deep.equal({
      'berth.runtime_handler': 'runc',
      'k8s.pod.name': 'web',
      'k8s.namespace.name': 'prod',
      'k8s.pod.uid': 'u-1',
    });
    const create = callAttributes({
      podSandboxId: 'p1',
      config: { metadata: { name: 'app', attempt: 2 }, image: { image: 'busybox:1' }, envs: [{ key: 'TOKEN', value: PASSWORD }], command: [PASSWORD] },
      sandboxConfig: { metadata: { name: 'web', namespace: 'prod', uid: 'u-1' } },
    });
    expect(create).to.deep.equal({
      'berth.pod_sandbox.id': 'p1',
      'k8s.pod.name': 'web',
      'k8s.namespace.name': 'prod',
      'k8s.pod.uid': 'u-1',
      'k8s.container.name': 'app',
      'k8s.container.restart_count': 2,
      'container.image.name': 'busybox:1',
    });
    const pull = callAttributes({ image: { image: 'reg/app:1' }, auth: { username: 'u', password: PASSWORD, auth: PASSWORD, identityToken: PASSWORD, registryToken: PASSWORD } });
    expect(pull).to.deep.equal({ 'container.image.name': 'reg/app:1' });
    expect(callAttributes({ containerId: 'c'.repeat(1000) })['container.id']).to.have.length(256);
  });
});

describe('daemon/tracing spans through the CRI dispatcher', function () {
  this.timeout(20000);
  let dir: string;
  let server: CriServer | undefined;
  let client: CriClient | undefined;
  let tracing: DaemonTracing | undefined;
  let exporter: InMemorySpanExporter;

  let metrics: DaemonMetrics;

  async function start(handlers: CriHandlers, samplingRate = 1): Promise<CriClient> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tracing-test-'));
    exporter = new KeepingExporter();
    tracing = createOtelTracing({ endpoint: 'http://unused', samplingRate, serviceName: 'berth-test', version: '0.0.0', logger: silentLogger, exporter });
    metrics = new DaemonMetrics({ defaultMetrics: false });
    metrics.setSpanHooks(tracing);
    server = createCriServer({ handlers: { ...handlers, Version: async () => ({ version: '0.1.0', runtimeName: 'berth' }) }, logger: silentLogger, observer: { beginCall: tracing.beginCall, observe: () => undefined } });
    await server.listen(path.join(dir, 's.sock'));
    client = createCriClient(path.join(dir, 's.sock'));
    return client;
  }

  async function spans(): Promise<ReadableSpan[]> {
    await tracing!.shutdown(2000);
    return exporter.getFinishedSpans();
  }

  afterEach(async () => {
    client?.close();
    await server?.shutdown(0);
    await tracing?.shutdown(1000);
    client = server = tracing = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("continues the caller's traceparent; step and CNI spans of the call are its children", async () => {
    const c = await start({
      RunPodSandbox: async () => {
        await new Promise((r) => setTimeout(r, 5));
        metrics.podStart.observeStep('cgroup', 0.002);
        metrics.cniPluginDone('bridge', 'ADD', 3, true);
        metrics.podStart.observeStep('cni', 0.004);
        return { podSandboxId: 'abc123' };
      },
    });
    await c.runPodSandbox({ config: { metadata: { name: 'web', namespace: 'prod', uid: 'u-1' } } }, { metadata: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: 'k=v' } });
    // Outside any call (e.g. CNI STATUS from a timer): no span.
    metrics.cniPluginDone('bridge', 'STATUS', 1, true);
    const all = await spans();
    const serverSpan = all.find((s) => s.name === 'runtime.v1.RuntimeService/RunPodSandbox')!;
    expect(serverSpan.spanContext().traceId).to.equal(CALLER_TRACE);
    expect(serverSpan.parentSpanContext?.spanId).to.equal(CALLER_SPAN);
    expect(serverSpan.spanContext().traceState?.get('k')).to.equal('v');
    expect(serverSpan.attributes).to.include({ 'k8s.pod.name': 'web', 'k8s.namespace.name': 'prod', 'k8s.pod.uid': 'u-1', 'berth.pod_sandbox.id': 'abc123', 'rpc.grpc.status_code': 0, 'rpc.method': 'RunPodSandbox' });
    const children = all.filter((s) => s !== serverSpan);
    expect(children.map((s) => s.name)).to.deep.equal(['pod start: cgroup', 'cni ADD: bridge', 'pod start: cni']);
    for (const s of children) {
      expect(s.spanContext().traceId).to.equal(CALLER_TRACE);
      expect(s.parentSpanContext?.spanId).to.equal(serverSpan.spanContext().spanId);
    }
    const cni = children[2];
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    expect(ms(cni.endTime) - ms(cni.startTime)).to.be.closeTo(4, 0.5);
  });

  it("PullImage's manifest fetch and layer steps are children of its span; the layer span names its digest", async () => {
    const c = await start({
      PullImage: async () => {
        metrics.image.pullStep?.('manifest fetch', 0.003, true);
        metrics.image.pullStep?.('layer', 0.004, false, 'sha256:' + 'a'.repeat(64));
        return { imageRef: 'sha256:' + 'b'.repeat(64) };
      },
    });
    await c.pullImage({ image: { image: 'reg/app:1' } });
    const all = await spans();
    const serverSpan = all.find((s) => s.name === 'runtime.v1.ImageService/PullImage')!;
    const children = all.filter((s) => s !== serverSpan);
    expect(children.map((s) => s.name)).to.deep.equal(['image pull: manifest fetch', 'image pull: layer']);
    for (const s of children) expect(s.parentSpanContext?.spanId).to.equal(serverSpan.spanContext().spanId);
    expect(children[1].attributes).to.deep.equal({ 'berth.image.pull.step': 'layer', 'berth.image.layer.digest': 'sha256:' + 'a'.repeat(64) });
    expect(children[1].status.code).to.equal(2);
    expect(await metrics.scrape()).to.contain('container_runtime_berth_image_pull_step_seconds_count{step="layer",outcome="failure"} 1');
  });

  it('puts no credential of a PullImage on any span, even when the pull fails', async () => {
    const c = await start({
      PullImage: async () => {
        throw new UnavailableError('pull reg/app:1: registry answered 401');
      },
    });
    const auth = { username: 'user', password: PASSWORD, auth: Buffer.from(`user:${PASSWORD}`).toString('base64'), identityToken: PASSWORD, registryToken: PASSWORD };
    await c.pullImage({ image: { image: 'reg/app:1' }, auth }).catch(() => undefined);
    const all = await spans();
    expect(all.map((s) => s.name)).to.deep.equal(['runtime.v1.ImageService/PullImage']);
    const text = JSON.stringify(all.map((s) => ({ a: s.attributes, st: s.status, ev: s.events, r: s.resource.attributes })));
    expect(text).to.contain('reg/app:1');
    expect(text).not.to.contain(PASSWORD);
    expect(text).not.to.contain(auth.auth);
    expect(all[0].status).to.deep.include({ code: 2 });
  });

  it('samples new traces by sampling_rate but follows a sampled caller', async () => {
    const c = await start({}, 0);
    await c.version({});
    await c.version({}, { metadata: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
    await c.version({}, { metadata: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-00` } });
    const all = await spans();
    expect(all.map((s) => s.spanContext().traceId)).to.deep.equal([CALLER_TRACE]);
  });
});

describe('daemon/tracing OTLP/gRPC export', () => {
  it('sends the spans of a grpc:// endpoint as an OTLP/gRPC Export call', async () => {
    const received: Buffer[] = [];
    const server = new Server();
    const identity = (b: Buffer) => b;
    server.addService(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          received.push(call.request);
          callback(null, Buffer.alloc(0));
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    try {
      const tracing = createOtelTracing({ endpoint: `grpc://127.0.0.1:${port}`, samplingRate: 1, serviceName: 'berth-grpc-test', version: '0.0.0', logger: silentLogger });
      const md: Record<string, string> = { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` };
      const scope = tracing.beginCall('RuntimeService', 'Version', (k) => md[k])!;
      scope.run(() => tracing.podStartStep('files', 0.001));
      scope.end('OK');
      await tracing.shutdown(5000);
      const bytes = Buffer.concat(received);
      expect(received.length).to.be.greaterThan(0);
      expect(bytes.includes(Buffer.from(CALLER_TRACE, 'hex'))).to.equal(true);
      expect(bytes.includes(Buffer.from(CALLER_SPAN, 'hex'))).to.equal(true);
      expect(bytes.toString('latin1')).to.contain('berth-grpc-test').and.contain('runtime.v1.RuntimeService/Version').and.contain('pod start: files');
    } finally {
      server.forceShutdown();
    }
  });
});

describe('daemon/tracing off', () => {
  it('loads no OpenTelemetry SDK or exporter unless an endpoint is configured', () => {
    const dist = path.resolve(__dirname, '..');
    const script = (endpoint: string) => `
      require(${JSON.stringify(path.join(dist, 'daemon/commands/index.js'))});
      require(${JSON.stringify(path.join(dist, 'daemon/wiring.js'))});
      const { startTracing } = require(${JSON.stringify(path.join(dist, 'daemon/tracing.js'))});
      const { silentLogger } = require(${JSON.stringify(path.join(dist, 'common/logger.js'))});
      const t = startTracing({ tracingEndpoint: ${JSON.stringify(endpoint)}, tracingSamplingRate: 1, tracingServiceName: 'berth' }, '0', silentLogger);
      const loaded = Object.keys(require.cache).filter((k) => /@opentelemetry\\/(sdk-trace-base|exporter-trace-otlp-http|exporter-trace-otlp-grpc|core|resources)\\//.test(k));
      console.log(JSON.stringify({ on: t !== undefined, loaded: loaded.length }));
      if (t) t.shutdown(100);
    `;
    const off = JSON.parse(execFileSync(process.execPath, ['-e', script('')], { encoding: 'utf8' })) as { on: boolean; loaded: number };
    expect(off).to.deep.equal({ on: false, loaded: 0 });
    const on = JSON.parse(execFileSync(process.execPath, ['-e', script('http://127.0.0.1:1/v1/traces')], { encoding: 'utf8' })) as { on: boolean; loaded: number };
    expect(on.on).to.equal(true);
    expect(on.loaded).to.be.greaterThan(10);
  });
});
