import { expect } from 'chai';
import { timetableSlice } from './kubelet-load';
import { callCounts, kubeletSchedule, probedPodCount, probedPods } from './kubelet-schedule';

describe('bench: kubelet timetable', () => {
  const events = kubeletSchedule({ pods: 110, durationMs: 60_000, probeShare: 0.25 });

  it('probes 27–28 of 110 pods with a 1/4 share, spread over the pods', () => {
    expect(probedPodCount(110, 0.25)).to.be.within(27, 28);
    const pods = probedPods(110, 0.25);
    expect(new Set(pods).size).to.equal(pods.length);
    expect(Math.max(...pods)).to.be.at.least(100);
    expect(probedPodCount(10, 0)).to.equal(0);
    expect(probedPodCount(3, 1)).to.equal(3);
  });

  it('gives 27–28 execs in every 10 s, evenly spaced, each probed pod once', () => {
    const probes = events.filter((e) => e.kind === 'probe');
    for (let period = 0; period < 60_000; period += 10_000) {
      const inPeriod = probes.filter((e) => e.atMs >= period && e.atMs < period + 10_000);
      expect(inPeriod.length).to.be.within(27, 28);
      const pods = inPeriod.map((e) => e.calls[0].pod);
      expect(new Set(pods).size).to.equal(inPeriod.length);
      const gaps = inPeriod.slice(1).map((e, i) => e.atMs - inPeriod[i].atMs);
      for (const g of gaps) expect(g).to.be.closeTo(10_000 / inPeriod.length, 1e-6);
      expect(inPeriod.every((e) => e.calls.length === 1 && e.calls[0].rpc === 'ExecSync')).to.equal(true);
    }
  });

  it('relists every second, syncs two pods a second round-robin, stats every 10 s', () => {
    const counts = callCounts(events);
    expect(counts.ListPodSandbox).to.equal(60);
    expect(counts.ListContainers).to.equal(60);
    expect(counts.PodSandboxStatus).to.equal(120);
    expect(counts.ContainerStatus).to.equal(120);
    expect([counts.ListContainerStats, counts.ListPodSandboxStats, counts.ImageFsInfo]).to.deep.equal([6, 6, 6]);
    expect(counts.ExecSync).to.equal(6 * probedPodCount(110, 0.25));
    const relists = events.filter((e) => e.kind === 'relist');
    expect(relists.map((e) => e.atMs)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i * 1000));
    expect(relists[0].calls.map((c) => c.rpc)).to.deep.equal(['ListPodSandbox', 'ListContainers']);
    const status = events.filter((e) => e.kind === 'status');
    expect(status.slice(0, 3).map((e) => e.atMs)).to.deep.equal([250, 750, 1250]);
    expect(status.map((e) => e.calls[0].pod)).to.deep.equal(Array.from({ length: 120 }, (_, i) => i % 110));
    expect(status.every((e) => e.calls[1].pod === e.calls[0].pod)).to.equal(true);
    const stats = events.filter((e) => e.kind === 'stats');
    expect(stats.slice(1).map((e, i) => e.atMs - stats[i].atMs)).to.deep.equal([10_000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('is sorted by time and stays inside the window', () => {
    for (let i = 1; i < events.length; i++) expect(events[i].atMs).to.be.at.least(events[i - 1].atMs);
    expect(events.every((e) => e.atMs >= 0 && e.atMs < 60_000)).to.equal(true);
    const short = kubeletSchedule({ pods: 10, durationMs: 15_000, probeShare: 0.5 });
    expect(callCounts(short).ExecSync).to.equal(5 + 3); // a full period, then the probes due before 15 s (0, 2, 4 s)
  });

  it('cuts into round slices that together are the whole timetable, each starting at 0', () => {
    const slices = [0, 1, 2, 3].map((r) => timetableSlice(events, r * 15_000, (r + 1) * 15_000));
    expect(slices.reduce((n, s) => n + s.length, 0)).to.equal(events.length);
    expect(slices.every((s) => s[0].atMs === 0 && s.at(-1)!.atMs < 15_000)).to.equal(true);
    const merged = slices.flatMap((s, r) => s.map((e) => ({ ...e, atMs: e.atMs + r * 15_000 })));
    expect(merged).to.deep.equal(events);
  });
});
