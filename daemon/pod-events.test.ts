import { expect } from 'chai';
import { NotFoundError } from '../common/errors';
import type { PodSandboxService } from '../cri/runtime/pod-handlers';
import type { SandboxStatusView } from '../pod/types';
import { EventedPodService } from './pod-events';

/** A pod service over a map of id → state; only what EventedPodService reads is filled in. */
function fakePods(): PodSandboxService & { states: Map<string, 'ready' | 'notready'> } {
  const states = new Map<string, 'ready' | 'notready'>();
  const status = (id: string) => {
    const state = states.get(id);
    if (!state) throw new NotFoundError(`pod sandbox ${id} not found`);
    return { id, state } as unknown as SandboxStatusView;
  };
  return {
    states,
    async runPodSandbox() {
      states.set('p1', 'ready');
      return 'p1';
    },
    async stopPodSandbox(id) {
      if (states.has(id)) states.set(id, 'notready');
    },
    async removePodSandbox(id) {
      states.delete(id);
    },
    podSandboxStatus: status,
    listPodSandboxes: () => [],
    async updatePodSandboxResources(id) {
      status(id);
    },
  };
}

describe('daemon/pod-events EventedPodService', () => {
  it('emits created+started, stopped once, deleted once, with the sandbox id as container id', async () => {
    const service = new EventedPodService(fakePods());
    const seen: string[] = [];
    service.onEvent((e) => seen.push(`${e.type}:${e.containerId}:${e.podSandboxId}`));
    await service.runPodSandbox({} as never, undefined);
    await service.stopPodSandbox('p1');
    await service.stopPodSandbox('p1'); // idempotent retry: no second event
    await service.removePodSandbox('p1');
    await service.removePodSandbox('p1'); // already gone: no event
    expect(seen).to.deep.equal(['created:p1:p1', 'started:p1:p1', 'stopped:p1:p1', 'deleted:p1:p1']);
  });

  it('emits nothing when the call fails, and stops after unsubscribe', async () => {
    const pods = fakePods();
    pods.runPodSandbox = async () => {
      throw new Error('boom');
    };
    const service = new EventedPodService(pods);
    const seen: string[] = [];
    const off = service.onEvent((e) => seen.push(e.type));
    await service.runPodSandbox({} as never, undefined).catch(() => undefined);
    expect(seen).to.deep.equal([]);
    pods.states.set('p2', 'ready');
    off();
    await service.stopPodSandbox('p2');
    expect(seen).to.deep.equal([]);
  });
});
