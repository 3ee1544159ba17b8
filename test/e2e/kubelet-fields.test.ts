/**
 * The fields kubelet reads beyond the basics, through a real berthd socket, with the requests
 * kubelet sends: a container created from the image id with user_specified_image reports the
 * image by that name (image_ref the repo digest, image_id the id) in ContainerStatus,
 * ListContainers and GetContainerEvents; stop_signal; PodSandboxStatus carries the container
 * statuses and a timestamp; pod stats get usage_nano_cores from the second sample; container stats
 * report swap where the host accounts it; ImageFsInfo fills container_filesystems. Env values
 * OCI cannot carry are refused: a NUL with InvalidArgument naming the entry, bytes that are not
 * UTF-8 already by the proto3 string decoding (as Go runtimes refuse them at unmarshal).
 */
import { Client, credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import * as fs from 'node:fs';
import { runtime } from '../../cri/api/generated/cri';
import type { CriClient } from '../support/cri-client';
import { removeCgroupParent } from './runtime-support';
import { CriStack } from './support/cri-stack';

describe('e2e kubelet fields: image names, stop signal, pod status containers, CPU rate, swap, container fs', function () {
  this.timeout(120_000);
  const stack = new CriStack('kubelet-fields');
  let imageId = '';
  let podId = '';
  let containerId = '';
  const cgroupParent = `/berth-kf-e2e-${process.pid}`;
  const events: runtime.v1.IContainerEventResponse[] = [];
  let eventStream: ReturnType<CriClient['getContainerEvents']> | undefined;

  const podConfig = () => stack.podConfig('kubelet-fields', { cgroupParent });

  before(async () => {
    await stack.start({ pull: false });
    imageId = (await stack.client.pullImage({ image: { image: stack.image } })).imageRef ?? '';
    eventStream = stack.client.getContainerEvents({});
    eventStream.on('data', (e: runtime.v1.IContainerEventResponse) => events.push(e));
    eventStream.on('error', () => undefined); // cancelled at the end
    podId = await stack.runPod(podConfig());
    // as kubelet does: image.image is the id PullImage answered, user_specified_image the pod spec's name
    containerId =
      (
        await stack.client.createContainer({
          podSandboxId: podId,
          config: {
            metadata: { name: 'spin', attempt: 0 },
            image: { image: imageId, userSpecifiedImage: stack.image },
            command: ['sh', '-c', 'while :; do :; done'],
            logPath: 'spin/0.log',
            stopSignal: runtime.v1.Signal.SIGUSR1,
            linux: { resources: { cpuPeriod: 100_000, cpuQuota: 20_000 } }, // a fifth of a core: enough to measure
          },
          sandboxConfig: podConfig(),
        })
      ).containerId ?? '';
    await stack.client.startContainer({ containerId });
  });

  after(async () => {
    eventStream?.cancel();
    await stack.stop();
    await removeCgroupParent(cgroupParent);
  });

  const digestRef = () => new RegExp(`^${stack.registry!.host.replace(/[.]/g, '\\.')}/e2e/busybox@sha256:[0-9a-f]{64}$`);

  it('ContainerStatus: image as the user wrote it, image_ref the repo digest, image_id the id, the stop signal', async () => {
    expect(imageId).to.match(/^sha256:[0-9a-f]{64}$/);
    const s = (await stack.client.containerStatus({ containerId })).status!;
    expect(s.image?.image).to.equal(stack.image);
    expect(s.imageRef).to.match(digestRef());
    expect(s.imageId).to.equal(imageId);
    expect(s.stopSignal).to.equal(runtime.v1.Signal.SIGUSR1);
  });

  it('ListContainers and GetContainerEvents report the same image fields', async () => {
    const c = (await stack.client.listContainers({ filter: { id: containerId } })).containers![0]!;
    expect(c.image?.image).to.equal(stack.image);
    expect(c.imageRef).to.match(digestRef());
    expect(c.imageId).to.equal(imageId);
    const started = events.find((e) => e.containerId === containerId && e.containerEventType === runtime.v1.ContainerEventType.CONTAINER_STARTED_EVENT);
    expect(started, 'started event').to.not.equal(undefined);
    const mine = started!.containersStatuses!.find((s) => s.id === containerId)!;
    expect(mine.image?.image).to.equal(stack.image);
    expect(mine.imageId).to.equal(imageId);
  });

  it('PodSandboxStatus carries the container statuses and when they were taken', async () => {
    const before = Date.now() * 1e6;
    const res = await stack.client.podSandboxStatus({ podSandboxId: podId });
    expect(res.containersStatuses!.map((s) => s.id)).to.deep.equal([containerId]);
    expect(res.containersStatuses![0].state).to.equal(runtime.v1.ContainerState.CONTAINER_RUNNING);
    expect(Number(res.timestamp)).to.be.within(before - 1e9, Date.now() * 1e6 + 1e9);
  });

  it('pod stats: no usage_nano_cores on the first sample, a plausible rate on the second', async () => {
    const first = (await stack.client.podSandboxStats({ podSandboxId: podId })).stats!;
    expect(first.linux!.cpu!.usageNanoCores ?? null).to.equal(null);
    await new Promise((r) => setTimeout(r, 1500));
    const second = (await stack.client.podSandboxStats({ podSandboxId: podId })).stats!;
    const rate = Number(second.linux!.cpu!.usageNanoCores!.value);
    // the spinning container is capped at 0.2 core; the pod cgroup holds it (and an idle pause)
    expect(rate).to.be.within(0.05e9, 0.3e9);
    const containerRate = Number(second.linux!.containers![0]!.cpu!.usageNanoCores!.value);
    expect(containerRate).to.be.within(0.05e9, 0.3e9);
  });

  it('container stats report swap where the host accounts it', async () => {
    const stats = (await stack.client.containerStats({ containerId })).stats!;
    const v1Memsw = fs.existsSync('/sys/fs/cgroup/memory/memory.memsw.usage_in_bytes');
    const v2Swap = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') && fs.existsSync(`/sys/fs/cgroup${cgroupParent}/memory.swap.current`);
    if (v1Memsw || v2Swap) {
      expect(Number(stats.swap!.swapUsageBytes!.value)).to.be.at.least(0);
      expect(Number(stats.swap!.timestamp)).to.be.greaterThan(0);
    } else {
      expect(stats.swap ?? null).to.equal(null);
    }
  });

  it('ImageFsInfo: container_filesystems is the image store filesystem', async () => {
    const fsInfo = await stack.client.imageFsInfo({});
    expect(fsInfo.containerFilesystems).to.have.length(1);
    expect(fsInfo.containerFilesystems![0]!.fsId!.mountpoint).to.equal(fsInfo.imageFilesystems![0]!.fsId!.mountpoint);
  });

  /** CreateContainer sent as raw bytes (so a test can put bytes on the wire no stack.client library would). */
  function rawCreate(bytes: Buffer): Promise<ServiceError | undefined> {
    const raw = new Client(`unix://${stack.berthd!.socketPath}`, credentials.createInsecure());
    return new Promise((resolve) => {
      raw.makeUnaryRequest('/runtime.v1.RuntimeService/CreateContainer', (b: Buffer) => b, (b: Buffer) => b, bytes, (err) => {
        raw.close();
        resolve(err ?? undefined);
      });
    });
  }

  /** A CreateContainerRequest whose env value is `value`, with the marker bytes "ZQZQ" then patched in place. */
  function createWithEnv(value: string, patch?: number[]): Buffer {
    const buf = Buffer.from(
      runtime.v1.CreateContainerRequest.encode({
        podSandboxId: podId,
        config: { metadata: { name: `env-${value.length}`, attempt: 0 }, image: { image: imageId }, command: ['true'], envs: [{ key: 'A', value }] },
        sandboxConfig: podConfig(),
      }).finish(),
    );
    if (patch) {
      const at = buf.indexOf('ZQZQ');
      expect(at).to.be.greaterThan(0);
      Buffer.from(patch).copy(buf, at);
    }
    return buf;
  }

  it('env values OCI cannot carry are refused: NUL names config.envs[0].value, invalid UTF-8 fails decoding', async () => {
    const nul = await rawCreate(createWithEnv('a\0b'));
    expect(nul?.code).to.equal(grpcStatus.INVALID_ARGUMENT);
    expect(nul?.details).to.contain('config.envs[0].value');
    const bad = await rawCreate(createWithEnv('ZQZQ', [0x5a, 0xff, 0xfe, 0x5a]));
    expect(bad?.code, bad?.details).to.equal(grpcStatus.INVALID_ARGUMENT);
    expect(bad?.details).to.match(/utf-8/i);
    expect((await stack.client.listContainers({ filter: { podSandboxId: podId } })).containers!.map((c) => c.id)).to.deep.equal([containerId]);
  });
});
