import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';
import { FakeNativeBinding } from '../../native/testing/fake-native';
import { PodManager, type PodManagerOptions } from '../../pod/pod-manager';
import { fakePodManagerOptions } from '../../pod/testing/pod-manager-fixtures';
import { FakePodNetwork } from '../../pod/testing/fake-pod-network';
import { FakeProcesses } from '../../pod/testing/fake-processes';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { podSandboxHandlers } from './pod-handlers';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

describe('cri/runtime a pod record keeps the config as it came off the wire', () => {
  let dir: string;
  let options: PodManagerOptions;
  const managers: PodManager[] = [];

  tempDirEach('berth-podwire-', (d) => {
    dir = d;
    const native = new FakeNativeBinding({ firstPid: 4_100_000 });
    native.writeCgroupProcs = true;
    options = fakePodManagerOptions(dir, { native, network: new FakePodNetwork(), processes: new FakeProcesses(native) }, '');
  });
  afterEach(() => managers.splice(0).forEach((m) => m.close()));

  async function runFromWire(manager: PodManager, wire: Uint8Array): Promise<string> {
    const handlers = podSandboxHandlers({ pods: manager, containerStatuses: () => [], nowNs: () => 1 });
    const request = runtime.v1.RunPodSandboxRequest.decode(wire);
    return (await handlers.RunPodSandbox!(request, call)).podSandboxId!;
  }

  it('with enums and int64s as numbers, so a retry after a restart joins the pod instead of meeting a different config', async () => {
    const wire = runtime.v1.RunPodSandboxRequest.encode({
      config: {
        metadata: { name: 'wired', namespace: 'ns', uid: 'u-wired', attempt: 0 },
        portMappings: [{ protocol: runtime.v1.Protocol.UDP, containerPort: 53, hostPort: 5353 }],
        linux: { securityContext: { namespaceOptions: { pid: runtime.v1.NamespaceMode.CONTAINER } }, overhead: { memoryLimitInBytes: 1048576 } },
      },
    }).finish();
    const before = await PodManager.create(options);
    managers.push(before);
    const id = await runFromWire(before, wire);
    before.close();
    const kept = JSON.parse(readFileSync(path.join(dir, 'root/pods', id, 'state.json'), 'utf8')).info.config;
    expect(kept.portMappings[0].protocol).to.equal(runtime.v1.Protocol.UDP);
    expect(kept.linux.securityContext.namespaceOptions.pid).to.equal(runtime.v1.NamespaceMode.CONTAINER);
    expect(kept.linux.overhead.memoryLimitInBytes).to.equal(1048576);

    const after = await PodManager.create(options);
    managers.push(after);
    expect((await after.recover()).running).to.deep.equal([id]);
    expect(await runFromWire(after, wire)).to.equal(id);
  });
});
