/**
 * berthd's own HTTP/2 + gRPC server against grpc-go 1.33 (Debian's), the client library of kubelet
 * and crictl, dialled the way kubelet up to 1.29 dials (the socket path as target and :authority).
 * Requests and responses are encoded with the project's protobufjs codecs and carried as bytes by
 * the Go caller of test/e2e/grpc-go; every call below crosses grpc-go's HTTP/2 transport.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { runtime } from '../../cri/api/generated/cri';
import { HpackDecoder } from '../../cri/transport/hpack-decoder';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { buildGoCaller, GoCaller, methodPath } from './support/grpc-go-caller';
import { startFrameTap } from './support/h2-frame-tap';

const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;

/** A pod config for RunPodSandbox with a unique name. */
function podConfig(name: string, annotations: Record<string, string> = {}): runtime.v1.IPodSandboxConfig {
  return { metadata: { name, namespace: 'e2e-grpc-go', uid: `uid-${name}`, attempt: 0 }, hostname: name, labels: { test: 'grpc-go' }, annotations };
}

/**
 * A server that only reads: it answers the client's SETTINGS, decodes the first request's header
 * block and resolves with its :authority (what berthd's transport accepts without looking at it).
 */
function authorityProbe(socketPath: string): { server: net.Server; authority: Promise<string> } {
  let found: (authority: string) => void = () => undefined;
  const authority = new Promise<string>((resolve) => (found = resolve));
  const server = net.createServer((socket) => {
    const decoder = new HpackDecoder(4096, 1 << 20);
    let input = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('error', () => undefined);
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    socket.on('data', (d: Buffer) => {
      input = Buffer.concat([input, d]);
      if (!prefaceSeen) {
        if (input.length < 24) return;
        prefaceSeen = true;
        input = input.subarray(24);
      }
      while (input.length >= 9) {
        const length = input.readUIntBE(0, 3);
        if (input.length < 9 + length) break;
        const [type, flags] = [input[3]!, input[4]!];
        const payload = input.subarray(9, 9 + length);
        input = input.subarray(9 + length);
        if (type === 4 && !(flags & 1)) socket.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
        if (type === 1 && flags & 4 && !(flags & 0x28)) {
          const field = decoder.decode(payload).fields.find(([n]) => n === ':authority');
          found(field?.[1] ?? '(none)');
        }
      }
    });
  });
  server.listen(socketPath);
  return { server, authority };
}

describe('e2e: grpc-go (kubelet/crictl client library) against berthd', function () {
  this.timeout(120_000);
  let tmp: string;
  let binary: string;
  let berthd: BerthdInstance | undefined;
  let go: GoCaller | undefined;

  before(async function () {
    this.timeout(300_000);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-grpc-go-'));
    binary = buildGoCaller(tmp);
    berthd = await startBerthd({ name: 'berth-grpc-go' });
    go = GoCaller.start(binary, berthd.socketPath);
  });
  after(async () => {
    await go?.close();
    await berthd?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs a pod through grpc-go; returns its id. */
  async function runPod(name: string, annotations: Record<string, string> = {}): Promise<string> {
    return (await go!.ok('RunPodSandbox', { config: podConfig(name, annotations) })).podSandboxId ?? '';
  }

  /** Stops and removes every pod through grpc-go. */
  async function removeAllPods(): Promise<void> {
    for (const pod of (await go!.ok('ListPodSandbox', {})).items ?? []) {
      await go!.ok('StopPodSandbox', { podSandboxId: pod.id });
      await go!.ok('RemovePodSandbox', { podSandboxId: pod.id });
    }
  }

  it('sends the socket path as :authority, as kubelet and crictl up to 1.29 do', async () => {
    const socketPath = path.join(tmp, 'probe.sock');
    const probe = authorityProbe(socketPath);
    const caller = GoCaller.start(binary, socketPath);
    try {
      void caller.raw(methodPath('Version'), new Uint8Array(), { timeoutMs: 1000 }).catch(() => undefined);
      expect(await probe.authority).to.equal(socketPath);
    } finally {
      await caller.close();
      probe.server.close();
    }
  });

  it("answers Version with berth's name and Status with both conditions ready", async () => {
    const version = await go!.ok('Version', { version: '0.1.0' });
    expect(version.runtimeName).to.equal('berth');
    expect(version.runtimeApiVersion).to.equal('v1');
    const status = await go!.ok('Status', {});
    const conditions = Object.fromEntries((status.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).to.deep.equal({ RuntimeReady: true, NetworkReady: true });
  });

  it('runs, inspects, lists, stops and removes a real pod', async () => {
    const id = await runPod('lifecycle');
    const status = await go!.ok('PodSandboxStatus', { podSandboxId: id });
    expect(status.status?.id).to.equal(id);
    expect(status.status?.state).to.equal(runtime.v1.PodSandboxState.SANDBOX_READY);
    expect(status.status?.metadata?.name).to.equal('lifecycle');
    expect(status.status?.network?.ip, 'pod IP').to.match(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await go!.ok('ListPodSandbox', {})).items?.map((p) => p.id)).to.deep.equal([id]);
    await go!.ok('StopPodSandbox', { podSandboxId: id });
    expect((await go!.ok('PodSandboxStatus', { podSandboxId: id })).status?.state).to.equal(runtime.v1.PodSandboxState.SANDBOX_NOTREADY);
    await go!.ok('RemovePodSandbox', { podSandboxId: id });
    expect((await go!.ok('ListPodSandbox', {})).items).to.deep.equal([]);
  });

  it('carries NotFound naming the id, and InvalidArgument for a malformed request and for a field over its bound', async () => {
    const [notFound] = await go!.call('PodSandboxStatus', { podSandboxId: 'f00dfeed' });
    expect(notFound!.code, notFound!.message).to.equal(NOT_FOUND);
    expect(notFound!.message).to.contain('f00dfeed');
    // Field 1 (pod_sandbox_id) as a length-delimited string claiming 100 bytes of which 1 follows.
    const [malformed] = await go!.raw(methodPath('PodSandboxStatus'), Uint8Array.from([0x0a, 100, 0x41]));
    expect(malformed!.code, malformed!.message).to.equal(INVALID_ARGUMENT);
    expect(malformed!.message).to.contain('decode PodSandboxStatus request');
    const [tooBig] = await go!.call('RunPodSandbox', { config: podConfig('too-big', { note: 'x'.repeat(262_145) }) });
    expect(tooBig!.code, tooBig!.message).to.equal(INVALID_ARGUMENT);
    expect(tooBig!.message).to.contain('annotations["note"]');
  });

  it('honours grpc-timeout: a stream with a 300 ms deadline ends DEADLINE_EXCEEDED, and berthd counted it as a deadline', async () => {
    const { done } = go!.stream('GetContainerEvents', {}, { timeoutMs: 300 });
    const result = await done;
    expect(result.code, JSON.stringify(result)).to.equal(DEADLINE_EXCEEDED);
    expect(result.elapsedMs).to.be.within(250, 5000);
    // Without the grpc-timeout header berthd would only see grpc-go's RST_STREAM and count CANCELLED.
    const series = 'container_runtime_berth_operations_total{operation="GetContainerEvents",code="DEADLINE_EXCEEDED"} 1';
    let metrics = '';
    for (const until = Date.now() + 3000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      metrics = await (await fetch(`http://${berthd!.metricsAddress}/metrics`)).text();
      if (metrics.includes(series)) break;
    }
    expect(metrics.split('\n').filter((l) => l.includes('operation="GetContainerEvents"'))).to.include(series);
  });

  it('carries a 1.2 MB ListPodSandbox answer and a 6 MB request (many DATA frames and WINDOW_UPDATEs both ways)', async () => {
    // This call's connection goes through a tap that counts the frames each side sent.
    const tap = await startFrameTap(path.join(tmp, 'tap.sock'), berthd!.socketPath);
    const tapped = GoCaller.start(binary, tap.socketPath);
    try {
      const pods = 5;
      const big = (i: number): string => `${i}`.repeat(250_000);
      const ids: string[] = [];
      for (let i = 0; i < pods; i++) ids.push((await tapped.ok('RunPodSandbox', { config: podConfig(`big-${i}`, { note: big(i) }) })).podSandboxId ?? '');
      const [list] = await tapped.call('ListPodSandbox', {});
      expect(list!.code, list!.message).to.equal(0);
      expect(list!.responseBytes[0]).to.be.greaterThan(1 << 20);
      const items = list!.responses[0]!.items ?? [];
      expect(items.map((p) => p.id).sort()).to.deep.equal([...ids].sort());
      for (const p of items) expect(p.annotations?.note).to.equal(big(Number(p.metadata!.name!.slice(4))));
      // A 6 MB request (well over the 1 MiB stream window berthd announces) is received whole and refused by field.
      const [huge] = await tapped.call('RunPodSandbox', { config: podConfig('huge', { note: 'h'.repeat(6_000_000) }) });
      expect(huge!.code, huge!.message).to.equal(INVALID_ARGUMENT);
      expect(huge!.message).to.contain('annotations["note"]: value of 6000000 bytes');
      const frames = { client: Object.fromEntries(tap.fromClient.byType), server: Object.fromEntries(tap.fromServer.byType) };
      const info = JSON.stringify(frames);
      // The answer cannot fit grpc-go's initial 64 KiB windows: it crossed in many frames, paced by grpc-go's WINDOW_UPDATEs.
      expect(tap.fromServer.byType.get(0) ?? 0, info).to.be.at.least(Math.ceil(list!.responseBytes[0]! / 16_384));
      expect(tap.fromClient.byType.get(8) ?? 0, info).to.be.at.least(2);
      // berthd gave the 7+ MB of requests back to grpc-go as window: the stream's every 512 KiB, the
      // connection's every 2 MiB, besides the one opening the connection window.
      expect(tap.fromClient.dataBytes).to.be.greaterThan(pods * 250_000 + 6_000_000);
      expect(tap.fromServer.byType.get(8) ?? 0, info).to.be.at.least(1 + 10 + 3);
    } finally {
      await tapped.close();
      await tap.close();
    }
    await removeAllPods();
  });

  it('serves 50 concurrent calls on one connection', async () => {
    const id = await runPod('concurrent');
    const results = await go!.call('PodSandboxStatus', { podSandboxId: id }, { concurrency: 50 });
    expect(results).to.have.length(50);
    for (const r of results) {
      expect(r.code, r.message).to.equal(0);
      expect(r.responses[0]!.status?.id).to.equal(id);
    }
    const versions = await go!.call('Version', {}, { concurrency: 50 });
    expect(versions.filter((r) => r.code === 0 && r.responses[0]!.runtimeName === 'berth')).to.have.length(50);
    expect(go!.openSockets(), 'grpc-go connections to berthd').to.equal(1);
    await removeAllPods();
  });

  it('streams GetContainerEvents: the event of a pod started while the stream is open arrives', async () => {
    const { sent, done } = go!.stream('GetContainerEvents', {}, { timeoutMs: 60_000, maxMessages: 1 });
    await sent;
    const id = await runPod('events');
    const events = await done;
    expect(events.code, events.message).to.equal(0);
    expect(events.responses).to.have.length(1);
    const event = events.responses[0]!;
    expect(event.containerId).to.equal(id);
    expect(event.podSandboxStatus?.id).to.equal(id);
    await removeAllPods();
  });
});
