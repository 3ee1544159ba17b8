import { expect } from 'chai';
import { runtime } from '../api/generated/cri';
import { encodingOf } from '../pre-encoded';
import { wireOf } from '../testing/wire-fixtures';
import { slicedRepeatedAnswer } from './sliced-encode';

const v1 = runtime.v1;

/** A pod's stats as kubelet gets them: attributes with labels, cpu, memory, network, a container. */
function podStats(i: number): runtime.v1.IPodSandboxStats {
  const ts = 1_700_000_000_000_000_000 + i;
  return {
    attributes: { id: `pod-${i}`, metadata: { name: `web-${i}`, namespace: 'default', uid: `uid-${i}`, attempt: 0 }, labels: { app: 'web', 'pod-template-hash': `h${i}` }, annotations: { 'kubernetes.io/config.seen': '2026-12-07T00:00:00Z' } },
    linux: {
      cpu: { timestamp: ts, usageCoreNanoSeconds: { value: 123456789 * i } },
      memory: { timestamp: ts, workingSetBytes: { value: 4096 * i }, rssBytes: { value: 1024 } },
      network: { timestamp: ts, defaultInterface: { name: 'eth0', rxBytes: { value: 10 * i }, txBytes: { value: 20 } }, interfaces: [{ name: 'eth0', rxBytes: { value: 10 * i } }] },
      containers: [{ attributes: { id: `c-${i}`, metadata: { name: 'app', attempt: 1 }, labels: { a: 'b' } }, cpu: { timestamp: ts, usageNanoCores: { value: 5 } } }],
    },
  };
}

const encodePod = (w: runtime.v1.IPodSandboxStats) => v1.PodSandboxStats.encode(w).finish();

describe('cri/runtime/sliced-encode: big List answers a slice at a time', () => {
  for (const n of [0, 1, 16, 17, 110]) {
    it(`${n} pod stats: the attached bytes are what the generated encoder writes for the whole answer`, async () => {
      const stats = Array.from({ length: n }, (_, i) => podStats(i));
      const answer = await slicedRepeatedAnswer(stats, encodePod, (items) => ({ stats: items }));
      const expected = Buffer.from(v1.ListPodSandboxStatsResponse.encode({ stats }).finish());
      expect(Buffer.from(encodingOf(answer)!)).to.deep.equal(expected);
      const sent = wireOf('ListPodSandboxStats', answer);
      expect(Buffer.from(sent)).to.deep.equal(expected);
      expect(v1.ListPodSandboxStatsResponse.decode(expected).stats).to.have.length(n);
    });
  }

  it('lets the event loop run between slices', async () => {
    const stats = Array.from({ length: 50 }, (_, i) => podStats(i));
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await slicedRepeatedAnswer(stats, encodePod, (items) => ({ stats: items }), 16);
    ticking = false;
    // 50 items in slices of 16: three yields, each letting the other work take a turn.
    expect(turns).to.be.at.least(3);
  });
});
