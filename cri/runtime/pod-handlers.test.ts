import { expect } from 'chai';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import { PodManager } from '../../pod/pod-manager';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { podSandboxHandlers } from './pod-handlers';
import { createCriServer, CriServer } from '../server';
import { createCriClient, CriClient, isServiceError } from '../../test/support/cri-client';
import { status as grpcStatus } from '@grpc/grpc-js';
import { fakePodManagerOptions } from '../../pod/testing/pod-manager-fixtures';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';
import { rejection } from '../../common/testing/rejection-fixtures';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

describe('cri/runtime pod handlers', () => {
  let dir: string;
  let manager: PodManager;
  let handlers: ReturnType<typeof podSandboxHandlers>;

  tempDirEach('berth-podrpc-', async (d) => {
    dir = d;
    manager = await PodManager.create(fakePodManagerOptions(dir));
    handlers = podSandboxHandlers({ pods: manager });
  });
  afterEach(() => manager.close());

  const config = (name: string): runtime.v1.IPodSandboxConfig => ({
    metadata: { name, namespace: 'ns', uid: `u-${name}`, attempt: 1 },
    labels: { app: name },
    annotations: { note: 'x' },
    linux: { securityContext: { namespaceOptions: { pid: runtime.v1.NamespaceMode.POD } } },
  });

  it('runs, reports status (with verbose info), lists with filters, stops and removes', async () => {
    const { podSandboxId } = await handlers.RunPodSandbox!({ config: config('web'), runtimeHandler: '' }, call);
    const id = podSandboxId!;
    const res = await handlers.PodSandboxStatus!({ podSandboxId: id, verbose: true }, call);
    const status = res.status!;
    expect(status).to.deep.include({ id, state: runtime.v1.PodSandboxState.SANDBOX_READY, runtimeHandler: 'runc' });
    expect(status.metadata).to.deep.equal({ name: 'web', uid: 'u-web', namespace: 'ns', attempt: 1 });
    expect(status.network).to.deep.equal({ ip: '10.99.0.2', additionalIps: [] });
    expect(status.linux!.namespaces!.options).to.deep.equal({
      network: runtime.v1.NamespaceMode.POD,
      ipc: runtime.v1.NamespaceMode.POD,
      pid: runtime.v1.NamespaceMode.POD,
    });
    expect(status.labels).to.deep.equal({ app: 'web' });
    expect(status.createdAt).to.be.greaterThan(1.6e18);
    const info = JSON.parse(res.info!.info);
    expect(info.pid).to.be.a('number');
    expect(info.netnsPath).to.match(new RegExp(`/ns/net/${id}$`));
    expect(Object.keys(info.stepTimingsMs)).to.include.members(['files', 'pause', 'pin', 'cni', 'state']);
    expect((await handlers.PodSandboxStatus!({ podSandboxId: id }, call)).info).to.equal(undefined);

    // The response must encode: wire types are what grpc-js sends.
    runtime.v1.PodSandboxStatusResponse.encode(res).finish();

    const other = (await handlers.RunPodSandbox!({ config: config('db') }, call)).podSandboxId!;
    await handlers.StopPodSandbox!({ podSandboxId: other }, call);
    const list = async (filter?: runtime.v1.IPodSandboxFilter) => (await handlers.ListPodSandbox!({ filter }, call)).items!.map((p) => p.id);
    expect((await list()).sort()).to.deep.equal([id, other].sort());
    expect(await list({ state: { state: runtime.v1.PodSandboxState.SANDBOX_READY } })).to.deep.equal([id]);
    expect(await list({ state: { state: runtime.v1.PodSandboxState.SANDBOX_NOTREADY } })).to.deep.equal([other]);
    expect(await list({ id: other.slice(0, 6) })).to.deep.equal([other]);
    expect(await list({ labelSelector: { app: 'db' } })).to.deep.equal([other]);
    const items = (await handlers.ListPodSandbox!({}, call)).items!;
    runtime.v1.ListPodSandboxResponse.encode({ items }).finish();

    await handlers.RemovePodSandbox!({ podSandboxId: id }, call);
    await handlers.RemovePodSandbox!({ podSandboxId: id }, call);
    await handlers.StopPodSandbox!({ podSandboxId: id }, call);
    expect(await rejection(() => handlers.PodSandboxStatus!({ podSandboxId: id }, call))).to.be.instanceOf(NotFoundError);
  });

  it('serves the pod RPCs over the CRI socket with the right status codes', async () => {
    const server: CriServer = createCriServer({ handlers, logger: silentLogger });
    const socket = path.join(dir, 'cri.sock');
    await server.listen(socket);
    const client: CriClient = createCriClient(socket);
    try {
      const { podSandboxId } = await client.runPodSandbox({ config: config('wire') });
      const again = await client.runPodSandbox({ config: config('wire') });
      expect(again.podSandboxId).to.equal(podSandboxId);
      const res = await client.podSandboxStatus({ podSandboxId: podSandboxId!, verbose: true });
      expect(res.status!.state).to.equal(runtime.v1.PodSandboxState.SANDBOX_READY);
      expect(res.status!.metadata!.name).to.equal('wire');
      expect(JSON.parse(res.info!.info).stepTimingsMs).to.have.property('pause');
      const codeOf = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (err) {
          if (isServiceError(err)) return { code: err.code, details: err.details };
        }
        return undefined;
      };
      const bad = { ...config('bad'), linux: { sysctls: { 'kernel.panic': '1' } } };
      expect(await codeOf(client.runPodSandbox({ config: bad }))).to.deep.include({ code: grpcStatus.INVALID_ARGUMENT });
      expect((await codeOf(client.runPodSandbox({ config: config('h'), runtimeHandler: 'kata' })))?.details).to.match(/runtime_handler/);
      expect(await codeOf(client.podSandboxStatus({ podSandboxId: 'f'.repeat(64) }))).to.deep.include({ code: grpcStatus.NOT_FOUND });
      await client.stopPodSandbox({ podSandboxId: 'f'.repeat(64) });
      await client.stopPodSandbox({ podSandboxId: podSandboxId! });
      const listed = await client.listPodSandbox({ filter: { state: { state: runtime.v1.PodSandboxState.SANDBOX_NOTREADY } } });
      expect(listed.items!.map((p) => p.id)).to.deep.equal([podSandboxId]);
      await client.removePodSandbox({ podSandboxId: podSandboxId! });
      expect((await client.listPodSandbox({})).items).to.deep.equal([]);
    } finally {
      client.close();
      await server.shutdown(100);
    }
  });

  it('refuses requests without the required fields', async () => {
    for (const attempt of [
      () => handlers.RunPodSandbox!({}, call),
      () => handlers.StopPodSandbox!({ podSandboxId: '' }, call),
      () => handlers.RemovePodSandbox!({}, call),
      () => handlers.PodSandboxStatus!({}, call),
    ]) {
      const caught = await rejection(attempt);
      expect(caught).to.be.instanceOf(InvalidArgumentError);
      expect(caught.message).to.match(/^(config|pod_sandbox_id): is required/);
    }
  });
});
