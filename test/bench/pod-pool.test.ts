import { expect } from 'chai';
import { playTimetable } from './kubelet-load';
import type { KubeletEvent } from './kubelet-schedule';
import { runPool } from './pod-pool';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bench: pod pool and timetable player', () => {
  it('runs every item with at most inFlight at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await runPool(7, 3, async (i) => {
      running++;
      most = Math.max(most, running);
      await sleep(5);
      running--;
      done.push(i);
    });
    expect(done.sort()).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(most).to.equal(3);
  });

  it('rethrows the first failure after the started items settle, and starts no more', async () => {
    const started: number[] = [];
    let settled = 0;
    const err = await runPool(10, 2, async (i) => {
      started.push(i);
      await sleep(i === 1 ? 1 : 10);
      settled++;
      if (i === 1) throw new Error('boom 1');
    }).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('boom 1');
    expect(settled).to.equal(started.length);
    expect(started.length).to.be.below(10);
  });

  it('fires events at their time without waiting for slow earlier ones, calls of one event in order', async () => {
    const events: KubeletEvent[] = [
      { atMs: 0, kind: 'relist', calls: [{ rpc: 'ListPodSandbox' }, { rpc: 'ListContainers' }] },
      { atMs: 20, kind: 'probe', calls: [{ rpc: 'ExecSync', pod: 0 }] },
      { atMs: 40, kind: 'status', calls: [{ rpc: 'PodSandboxStatus', pod: 1 }] },
    ];
    const t0 = performance.now();
    const began: Array<[string, number]> = [];
    const recorded: Array<[string, boolean]> = [];
    const r = await playTimetable(
      events,
      async (c) => {
        began.push([c.rpc, performance.now() - t0]);
        await sleep(c.rpc === 'ListPodSandbox' ? 100 : c.rpc === 'ExecSync' ? 40 : 1);
        if (c.rpc === 'ExecSync') throw new Error('probe failed');
      },
      (rpc, _ms, err) => recorded.push([rpc, err !== undefined]),
    );
    const at = (rpc: string) => began.find(([x]) => x === rpc)![1];
    expect(at('ExecSync')).to.be.within(15, 90); // not held back by the 100 ms ListPodSandbox
    expect(at('PodSandboxStatus')).to.be.within(35, 95);
    expect(at('ListContainers')).to.be.at.least(95);
    expect(recorded).to.deep.include(['ExecSync', true]).and.to.deep.include(['ListContainers', false]);
    expect(recorded).to.have.length(4);
    expect(r.maxInFlight).to.equal(3);
    expect(r.wallMs).to.be.at.least(100);
  });
});
