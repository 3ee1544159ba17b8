/**
 * The container RPCs over the real gRPC server and CRI client, backed by a real ContainerManager
 * whose runtime, conmon, native and image/pod layers are fakes (no root needed).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { expect } from 'chai';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { ContainerManager } from '../../runtime/container-manager';
import { FakeRuntime } from '../../runtime/testing/fake-runtime';
import { createCriClient, isServiceError, type CriClient } from '../../test/support/cri-client';
import { runtime } from '../api/generated/cri';
import { createCriServer, type CriServer } from '../server';
import { containerHandlers } from './container-handlers';
import { fakeManagerOptions, managerFakes } from '../../runtime/testing/container-manager-fixtures';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';

async function grpcCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    if (isServiceError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a gRPC error');
}

describe('cri/runtime container RPCs on the wire', () => {
  let dir: string;
  let manager: ContainerManager;
  let server: CriServer;
  let client: CriClient;
  let fakeRuntime: FakeRuntime;

  // Registered first so the server and manager are gone before the temp dir.
  afterEach(async () => {
    client?.close();
    await server?.shutdown(100);
    manager?.close();
  });

  tempDirEach('berth-cwire-', async (d) => {
    dir = d;
    const fakes = managerFakes(dir, { repoDigests: ['busybox@sha256:d'], lowerDirs: ['/l'] });
    // A pod without namespace options has a pid namespace of its own (POD), which containers join by default.
    fakes.sandboxes.add({ id: 'pod1', namespacePaths: { pid: '/run/berth/ns/pid/pod1' } }, path.join(dir, 'logs'));
    fakes.images.images.set('busybox', fakes.images.images.get('busybox:latest')!);
    fakes.images.images.delete('busybox:latest');
    fakeRuntime = fakes.runtime;
    manager = await ContainerManager.open(fakeManagerOptions(dir, fakes, { killWaitMs: undefined }));
    server = createCriServer({ handlers: containerHandlers({ containers: manager }), logger: silentLogger });
    const socket = path.join(dir, 'berth.sock');
    await server.listen(socket);
    client = createCriClient(socket);
  });

  const createRequest = (name: string): runtime.v1.ICreateContainerRequest => ({
    podSandboxId: 'pod1',
    config: { metadata: { name }, image: { image: 'busybox' }, command: ['sleep', '1'], logPath: `${name}/0.log`, labels: { app: name }, linux: { resources: { memoryLimitInBytes: 1 << 26 } } },
  });

  it('create → start → status → list → exec → stop → remove, with the wire types intact', async () => {
    const { containerId } = await client.createContainer(createRequest('web'));
    expect(containerId).to.match(/^[0-9a-f]{64}$/);
    await client.startContainer({ containerId });
    const st = await client.containerStatus({ containerId: containerId!, verbose: true });
    expect(st.status!.state).to.equal(runtime.v1.ContainerState.CONTAINER_RUNNING);
    expect(Number(st.status!.createdAt)).to.be.greaterThan(1.6e18);
    expect(st.status!.metadata!.name).to.equal('web');
    expect(Number(st.status!.resources!.linux!.memoryLimitInBytes)).to.equal(1 << 26);
    expect(JSON.parse(st.info!.info).pid).to.equal(4242);
    const list = await client.listContainers({ filter: { labelSelector: { app: 'web' } } });
    expect(list.containers!.map((c) => c.id)).to.deep.equal([containerId]);
    const exec = await client.execSync({ containerId, cmd: ['echo', 'hi'], timeout: 3 });
    expect(Buffer.from(exec.stdout!).toString()).to.equal('out');
    expect(exec.exitCode).to.equal(0);
    await client.stopContainer({ containerId, timeout: 1 });
    expect((await client.containerStatus({ containerId })).status!.state).to.equal(runtime.v1.ContainerState.CONTAINER_EXITED);
    await client.removeContainer({ containerId });
    await client.removeContainer({ containerId }); // idempotent
    await client.stopContainer({ containerId, timeout: 1 }); // idempotent
  });

  it('maps domain errors to gRPC codes', async () => {
    expect(await grpcCode(client.containerStatus({ containerId: 'f'.repeat(64) }))).to.equal(GrpcStatus.NOT_FOUND);
    expect(await grpcCode(client.createContainer({ podSandboxId: 'nope', config: createRequest('x').config }))).to.equal(GrpcStatus.NOT_FOUND);
    expect(await grpcCode(client.createContainer({ podSandboxId: 'pod1', config: { metadata: { name: 'x' }, image: { image: 'missing:1' } } }))).to.equal(GrpcStatus.NOT_FOUND);
    expect(await grpcCode(client.createContainer({ podSandboxId: 'pod1', config: { metadata: { name: 'x' } } }))).to.equal(GrpcStatus.INVALID_ARGUMENT);
    const { containerId } = await client.createContainer(createRequest('db'));
    expect(await grpcCode(client.execSync({ containerId, cmd: ['true'] }))).to.equal(GrpcStatus.FAILED_PRECONDITION); // not running
    await client.startContainer({ containerId });
    fakeRuntime.exec = async () => {
      const { DeadlineExceededError } = await import('../../common/errors');
      throw new DeadlineExceededError('command timed out after 1000 ms');
    };
    expect(await grpcCode(client.execSync({ containerId, cmd: ['sleep', '9'], timeout: 1 }))).to.equal(GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('streams container events', async () => {
    const stream = client.getContainerEvents({});
    const received: runtime.v1.IContainerEventResponse[] = [];
    const done = (async () => {
      for await (const ev of stream) {
        received.push(ev);
        if (received.length === 2) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 100)); // let the subscription land
    const { containerId } = await client.createContainer(createRequest('ev'));
    await client.startContainer({ containerId });
    await done;
    stream.cancel();
    expect(received.map((e) => e.containerEventType)).to.deep.equal([runtime.v1.ContainerEventType.CONTAINER_CREATED_EVENT, runtime.v1.ContainerEventType.CONTAINER_STARTED_EVENT]);
    expect(received[1].containersStatuses![0].id).to.equal(containerId);
  });
});
