/**
 * Tracing through a real berthd: an in-process OTLP/HTTP receiver (JSON encoding) receives the
 * spans of a RunPodSandbox whose gRPC metadata carries the caller's W3C traceparent, as kubelet
 * sends it. The server span continues the caller's trace; each pod start step and CNI plugin call
 * is a child span of it. A PullImage with credentials puts none of them into the export.
 * PullImage, CreateContainer, StartContainer and ExecSync of a real image have their steps
 * (manifest fetch, layers; image lookup, rootfs mount, spec build, record write; conmon launch,
 * runc start; runc exec) as children.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { startRegistry, type TestRegistry } from './support/registry';
import { busyboxImage, pushImage } from './support/test-images';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const PASSWORD = 'hunter2-tr4cing-S3CRET';

/** One span as OTLP JSON has it (the fields this test reads). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
  status?: { code?: number; message?: string };
}

/** A minimal OTLP/HTTP traces receiver: keeps each request body and the spans in it. */
async function startReceiver(): Promise<{ url: string; bodies: string[]; spans: OtlpSpan[]; serviceNames: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const spans: OtlpSpan[] = [];
  const serviceNames: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(400).end();
        return;
      }
      bodies.push(body);
      const doc = JSON.parse(body) as { resourceSpans?: Array<{ resource?: { attributes?: OtlpSpan['attributes'] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }> };
      for (const rs of doc.resourceSpans ?? []) {
        const name = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
        if (name) serviceNames.push(name);
        for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bodies,
    spans,
    serviceNames,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
};
const ms = (ns: string | number) => Number(BigInt(ns) / 1000n) / 1000;

/** The span tree under `root`, one line per span: offset from the root's start and duration. */
function renderTree(root: OtlpSpan, all: OtlpSpan[]): string {
  const t0 = ms(root.startTimeUnixNano);
  const lines: string[] = [];
  const walk = (s: OtlpSpan, depth: number) => {
    const start = (ms(s.startTimeUnixNano) - t0).toFixed(1);
    const dur = (ms(s.endTimeUnixNano) - ms(s.startTimeUnixNano)).toFixed(1);
    lines.push(`${'  '.repeat(depth)}${s.name}  [+${start} ms, ${dur} ms]`);
    const kids = all.filter((k) => k.parentSpanId === s.spanId).sort((a, b) => ms(a.startTimeUnixNano) - ms(b.startTimeUnixNano));
    for (const k of kids) walk(k, depth + 1);
  };
  walk(root, 0);
  return lines.join('\n');
}

describe('e2e: tracing to an OTLP/HTTP receiver', function () {
  this.timeout(90_000);
  let d: BerthdInstance | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  let logDir: string | undefined;
  let registry: TestRegistry | undefined;
  let pod = '';

  afterEach(async () => {
    if (d && pod) {
      const c = d.client();
      await c.stopPodSandbox({ podSandboxId: pod }).catch(() => undefined);
      await c.removePodSandbox({ podSandboxId: pod }).catch(() => undefined);
    }
    pod = '';
    await d?.cleanup();
    await registry?.stop();
    registry = undefined;
    await receiver?.close();
    if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
    d = receiver = logDir = undefined;
  });

  it("exports RunPodSandbox as a server span in the caller's trace with each start step and CNI plugin call as its children", async () => {
    receiver = await startReceiver();
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-trace-logs-'));
    const saved = process.env.OTEL_BSP_SCHEDULE_DELAY;
    process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
    try {
      d = await startBerthd({ name: 'berth-trace', extraArgs: ['--tracing-endpoint', receiver.url, '--tracing-service-name', 'berth-e2e'] });
    } finally {
      if (saved === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
      else process.env.OTEL_BSP_SCHEDULE_DELAY = saved;
    }
    const client = d.client();
    const traceparent = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;
    const config = { metadata: { name: 'traced', namespace: 'e2e', uid: 'uid-traced', attempt: 0 }, hostname: 'traced', logDirectory: logDir, linux: {} };
    const { podSandboxId } = await client.runPodSandbox({ config }, { metadata: { traceparent } });
    // Credentials for a registry that is not there: the pull fails at once, with a span.
    await client
      .pullImage({ image: { image: '127.0.0.1:1/nothing:1' }, auth: { username: 'admin', password: PASSWORD, auth: Buffer.from(`admin:${PASSWORD}`).toString('base64') } }, { metadata: { traceparent } })
      .catch(() => undefined);

    const deadline = Date.now() + 20_000;
    const wanted = () => receiver!.spans.some((s) => s.name.endsWith('/PullImage')) && receiver!.spans.some((s) => s.name.endsWith('/RunPodSandbox'));
    while (!wanted() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const spans = receiver.spans.filter((s) => s.traceId === CALLER_TRACE);
    const server = spans.find((s) => s.name === 'runtime.v1.RuntimeService/RunPodSandbox');
    expect(server, JSON.stringify(receiver.spans.map((s) => s.name))).to.not.equal(undefined);
    expect(server!.parentSpanId).to.equal(CALLER_SPAN);
    expect(server!.kind).to.equal(2); // SPAN_KIND_SERVER
    expect(attr(server!, 'k8s.pod.name')).to.equal('traced');
    expect(attr(server!, 'k8s.namespace.name')).to.equal('e2e');
    expect(attr(server!, 'berth.pod_sandbox.id')).to.equal(podSandboxId);
    expect(attr(server!, 'rpc.grpc.status_code')).to.equal(0);
    expect(receiver.serviceNames).to.include('berth-e2e');

    const children = spans.filter((s) => s.parentSpanId === server!.spanId);
    const steps = children.filter((s) => s.name.startsWith('pod start: ')).map((s) => attr(s, 'berth.pod_start.step'));
    expect(steps).to.include.members(['files', 'cgroup', 'pause', 'cni', 'state']);
    const plugins = children.filter((s) => s.name.startsWith('cni ADD: ')).map((s) => attr(s, 'berth.cni.plugin'));
    expect(plugins).to.include('bridge');
    for (const c of children) {
      expect(ms(c.startTimeUnixNano)).to.be.at.least(ms(server!.startTimeUnixNano) - 1);
      expect(ms(c.endTimeUnixNano)).to.be.at.most(ms(server!.endTimeUnixNano) + 1);
    }
    // The CNI plugin calls happen inside the cni step.
    const cniStep = children.find((s) => s.name === 'pod start: cni')!;
    for (const p of children.filter((s) => s.name.startsWith('cni ADD: '))) {
      expect(ms(p.startTimeUnixNano)).to.be.at.least(ms(cniStep.startTimeUnixNano) - 1);
      expect(ms(p.endTimeUnixNano)).to.be.at.most(ms(cniStep.endTimeUnixNano) + 1);
    }
    console.log(`      span tree of trace ${CALLER_TRACE}:\n${renderTree(server!, spans).replace(/^/gm, '        ')}`);

    const pull = spans.find((s) => s.name === 'runtime.v1.ImageService/PullImage');
    expect(pull?.status?.code).to.equal(2); // STATUS_CODE_ERROR
    expect(attr(pull!, 'container.image.name')).to.equal('127.0.0.1:1/nothing:1');
    const exported = receiver.bodies.join('\n');
    expect(exported).not.to.contain(PASSWORD);
    expect(exported).not.to.contain(Buffer.from(`admin:${PASSWORD}`).toString('base64'));
  });

  it('exports the steps of PullImage, CreateContainer, StartContainer and ExecSync as children of their server spans', async () => {
    receiver = await startReceiver();
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-trace-logs-'));
    registry = await startRegistry();
    await pushImage(registry.host, 'e2e/busybox', 't', await busyboxImage());
    const image = `${registry.host}/e2e/busybox:t`;
    const registriesConf = path.join(logDir, 'registries.conf');
    fs.writeFileSync(registriesConf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
    const saved = process.env.OTEL_BSP_SCHEDULE_DELAY;
    process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
    try {
      d = await startBerthd({ name: 'berth-trace-steps', extraArgs: ['--tracing-endpoint', receiver.url, '--registries-config', registriesConf] });
    } finally {
      if (saved === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
      else process.env.OTEL_BSP_SCHEDULE_DELAY = saved;
    }
    const client = d.client();
    const podConfig = { metadata: { name: 'steps', namespace: 'e2e', uid: 'uid-steps', attempt: 0 }, hostname: 'steps', logDirectory: logDir, linux: {} };
    await client.pullImage({ image: { image } });
    pod = (await client.runPodSandbox({ config: podConfig })).podSandboxId ?? '';
    const { containerId } = await client.createContainer({
      podSandboxId: pod,
      config: { metadata: { name: 'app', attempt: 0 }, image: { image }, command: ['sleep', '60'], logPath: 'app/0.log' },
      sandboxConfig: podConfig,
    });
    await client.startContainer({ containerId: containerId ?? '' });
    const r = await client.execSync({ containerId, cmd: ['echo', 'hi'], timeout: 10 });
    expect(String(r.stdout)).to.equal('hi\n');

    const names = ['PullImage', 'CreateContainer', 'StartContainer', 'ExecSync'];
    const server = (m: string) => receiver!.spans.find((s) => s.name.endsWith(`/${m}`));
    const deadline = Date.now() + 20_000;
    while (!names.every((m) => server(m)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    await new Promise((res) => setTimeout(res, 300)); // children end before their parent but may sit in a later batch
    const childNames = (m: string) => {
      const parent = server(m);
      expect(parent, `${m} in ${JSON.stringify(receiver!.spans.map((s) => s.name))}`).to.not.equal(undefined);
      const kids = receiver!.spans.filter((s) => s.parentSpanId === parent!.spanId);
      for (const k of kids) {
        expect(k.traceId).to.equal(parent!.traceId);
        expect(ms(k.startTimeUnixNano)).to.be.at.least(ms(parent!.startTimeUnixNano) - 1);
        expect(ms(k.endTimeUnixNano)).to.be.at.most(ms(parent!.endTimeUnixNano) + 1);
      }
      return kids.sort((a, b) => ms(a.startTimeUnixNano) - ms(b.startTimeUnixNano)).map((k) => k.name);
    };
    expect(childNames('PullImage')).to.include.members(['image pull: manifest fetch', 'image pull: layer', 'image pull']);
    const layer = receiver.spans.find((s) => s.name === 'image pull: layer')!;
    expect(attr(layer, 'berth.image.layer.digest')).to.match(/^sha256:[0-9a-f]{64}$/);
    expect(childNames('CreateContainer')).to.deep.equal(['container create: image lookup', 'container create: rootfs mount', 'container create: spec build', 'container create: record write']);
    expect(childNames('StartContainer')).to.deep.equal(['container start: conmon launch', 'container start: runc start']);
    expect(childNames('ExecSync')).to.deep.equal(['container exec: runc exec']);
    for (const m of names) console.log(renderTree(server(m)!, receiver.spans).replace(/^/gm, '        '));
    await client.stopContainer({ containerId, timeout: 0 }).catch(() => undefined);
  });
});
