import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { silentLogger } from '../common/logger';
import { createCriServer, type CriServer } from '../cri/server';
import { ContainerManager } from '../runtime/container-manager';
import { specInput } from '../runtime/testing/spec-fixtures';
import { FakeImages } from '../runtime/testing/fake-images';
import { createCriClient, type CriClient } from '../test/support/cri-client';
import { DaemonMetrics } from './metrics';
import { createOtelTracing } from './tracing-otel';
import type { DaemonTracing } from './tracing';
import { fakeManagerOptions, managerFakes, shContainerConfig } from '../runtime/testing/container-manager-fixtures';

/** Keeps the exported spans after shutdown (the SDK's in-memory exporter clears them then). */
class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('daemon/tracing container steps (ContainerManager with fakes behind the CRI server)', function () {
  this.timeout(20000);
  let dir: string;
  let manager: ContainerManager;
  let native: FakeNativeBinding;
  let images: FakeImages;
  let metrics: DaemonMetrics;
  let tracing: DaemonTracing | undefined;
  let exporter: InMemorySpanExporter;
  let server: CriServer | undefined;
  let client: CriClient | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-trace-steps-'));
    const fakes = managerFakes(dir);
    ({ images, native } = fakes);
    metrics = new DaemonMetrics({ defaultMetrics: false });
    exporter = new KeepingExporter();
    tracing = createOtelTracing({ endpoint: 'http://unused', samplingRate: 1, serviceName: 'berth-test', version: '0.0.0', logger: silentLogger, exporter });
    metrics.setSpanHooks(tracing);
    manager = await ContainerManager.open(
      fakeManagerOptions(dir, fakes, {
        stepObserver: metrics.containerSteps,
        createDeps: { resolveCdi: async (requests) => ({ devices: requests.map((r) => r.name), env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] }) },
      }),
    );
    const config = shContainerConfig();
    server = createCriServer({
      handlers: {
        Version: async () => ({ version: '0.1.0', runtimeName: 'berth' }),
        CreateContainer: async (req) => ({
          containerId: await manager.createContainer(req.podSandboxId ?? '', { ...config, image: req.config?.image?.image ?? '' }),
        }),
        StartContainer: async (req) => {
          await manager.startContainer(req.containerId ?? '');
          return {};
        },
        ExecSync: async (req) => {
          const r = await manager.execSync(req.containerId ?? '', req.cmd ?? [], 2);
          return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
        },
      },
      logger: silentLogger,
      observer: { beginCall: tracing.beginCall, observe: () => undefined },
    });
    await server.listen(path.join(dir, 's.sock'));
    client = createCriClient(path.join(dir, 's.sock'));
  });

  afterEach(async () => {
    client?.close();
    await server?.shutdown(0);
    await tracing?.shutdown(1000);
    manager.close();
    client = server = tracing = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function spans(): Promise<ReadableSpan[]> {
    await tracing!.shutdown(2000);
    return exporter.getFinishedSpans();
  }

  /** The children of the server span of `method`, by name, checking they are its children. */
  function childrenOf(all: ReadableSpan[], method: string): string[] {
    const parent = all.find((s) => s.name === `runtime.v1.RuntimeService/${method}`);
    expect(parent, method).to.not.equal(undefined);
    return all
      .filter((s) => s.parentSpanContext?.spanId === parent!.spanContext().spanId)
      .map((s) => {
        expect(s.spanContext().traceId).to.equal(parent!.spanContext().traceId);
        return s.name;
      });
  }

  it('CreateContainer, StartContainer and ExecSync steps are child spans of their calls and observed in the histogram', async () => {
    const { containerId } = await client!.createContainer({ podSandboxId: 'pod1', config: { metadata: { name: 'app' }, image: { image: 'busybox:latest' } } });
    await client!.startContainer({ containerId });
    await client!.execSync({ containerId, cmd: ['echo', 'hi'], timeout: 2 });
    const all = await spans();
    expect(childrenOf(all, 'CreateContainer')).to.deep.equal(['container create: image lookup', 'container create: rootfs mount', 'container create: spec build', 'container create: record write']);
    expect(childrenOf(all, 'StartContainer')).to.deep.equal(['container start: conmon launch', 'container start: runc start']);
    expect(childrenOf(all, 'ExecSync')).to.deep.equal(['container exec: runc exec']);
    const step = all.find((s) => s.name === 'container create: spec build')!;
    expect(step.attributes).to.deep.equal({ 'berth.container.op': 'create', 'berth.container.step': 'spec build' });
    const text = await metrics.scrape();
    for (const [op, s] of [['create', 'image lookup'], ['create', 'rootfs mount'], ['create', 'spec build'], ['create', 'record write'], ['start', 'conmon launch'], ['start', 'runc start'], ['exec', 'runc exec']]) {
      expect(text).to.contain(`container_runtime_berth_container_step_seconds_count{op="${op}",step="${s}",outcome="success"} 1`);
    }
  });

  it('a failing step ends its span with an error status and counts as a failure; later steps do not run', async () => {
    images.resolveImage = () => Promise.reject(new Error('image store unreadable'));
    const err = await client!.createContainer({ podSandboxId: 'pod1', config: { metadata: { name: 'app' }, image: { image: 'busybox:latest' } } }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
    const all = await spans();
    expect(childrenOf(all, 'CreateContainer')).to.deep.equal(['container create: image lookup']);
    expect(all.find((s) => s.name === 'container create: image lookup')!.status.code).to.equal(2);
    const text = await metrics.scrape();
    expect(text).to.contain('container_runtime_berth_container_step_seconds_count{op="create",step="image lookup",outcome="failure"} 1');
    expect(text).not.to.contain('step="rootfs mount"');
  });

  it('counts the CDI devices a created container gets', async () => {
    expect(await metrics.scrape()).to.contain('container_runtime_berth_cdi_devices_injected_total 0');
    await manager.createContainer('pod1', { ...specInput().config, name: 'gpu', command: ['/bin/sh'], cdiDevices: ['vendor.com/gpu=0', 'vendor.com/gpu=1'] });
    await manager.createContainer('pod1', { ...specInput().config, name: 'plain', command: ['/bin/sh'] });
    expect(await metrics.scrape()).to.contain('container_runtime_berth_cdi_devices_injected_total 2');
  });

  it('a failed overlay mount ends CreateContainer after the image lookup span (rootfs mount is timed only when it completes)', async () => {
    native.fail('mount', new Error('EINVAL'));
    await client!.createContainer({ podSandboxId: 'pod1', config: { metadata: { name: 'app' }, image: { image: 'busybox:latest' } } }).catch(() => undefined);
    expect(childrenOf(await spans(), 'CreateContainer')).to.deep.equal(['container create: image lookup']);
  });
});
