import { expect } from 'chai';
import { mergeWindows, windowCpu, type KubeletWindow } from './kubelet-load';
import { KUBELET_RPCS, type KubeletRpc } from './kubelet-schedule';
import { cpuDelta, parseProcStat, readProcStat, type CpuSnapshot, type ProcStat } from './proc-sampler';

/** A /proc/<pid>/stat line with the given times (fields 14–17). */
function statLine(pid: number, comm: string, ppid: number, [utime, stime, cutime, cstime]: number[]): string {
  return `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 1200 0 0 0 ${utime} ${stime} ${cutime} ${cstime} 20 0 1 0 9999 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;
}

const snap = (...stats: ProcStat[]): CpuSnapshot => new Map(stats.map((s) => [s.pid, s]));

describe('bench: /proc CPU sampling', () => {
  it('parses utime, stime, cutime, cstime and ppid, also with spaces and parentheses in comm', () => {
    const s = parseProcStat(statLine(4242, 'conmon (x) y', 1, [150, 25, 300, 40]));
    expect(s).to.deep.equal({ pid: 4242, comm: 'conmon (x) y', ppid: 1, utime: 150, stime: 25, cutime: 300, cstime: 40 });
    expect(() => parseProcStat('garbage')).to.throw(/no \(comm\)/);
    expect(() => parseProcStat('1 (x) S 0 1 1 0 0 0 0 0 0 0')).to.throw(/field 14/);
    expect(() => parseProcStat('1 (x) S 0 1')).to.throw(/field 6 \(session\) is missing/);
    expect(() => parseProcStat(statLine(7, 'c', 1, [1, 2, 3, 4]).replace(' 3 4 ', ' 3 y '))).to.throw(/field 17 \(cstime\) is "y"/);
  });

  it('reads its own process', () => {
    const me = readProcStat(process.pid)!;
    expect(me.pid).to.equal(process.pid);
    expect(me.comm.length).to.be.greaterThan(0);
    expect(me.utime + me.stime).to.be.at.least(0);
    expect(readProcStat(2 ** 30)).to.equal(undefined);
  });

  it('sums own and waited-for children CPU between snapshots; a vanished or reused pid is missing', () => {
    const before = snap(parseProcStat(statLine(10, 'berthd', 1, [100, 50, 10, 5])), parseProcStat(statLine(11, 'conmon', 1, [3, 2, 0, 0])), parseProcStat(statLine(12, 'conmon', 1, [7, 7, 7, 7])));
    const after = snap(parseProcStat(statLine(10, 'berthd', 1, [160, 70, 30, 15])), parseProcStat(statLine(12, 'sleep', 1, [0, 0, 0, 0])));
    expect(cpuDelta(before, after)).to.deep.equal({ self: 80, children: 30, missing: 2 });
  });

  it('converts ticks to seconds per group', () => {
    const line = (pid: number, comm: string, t: number[]) => parseProcStat(statLine(pid, comm, 1, t));
    const before = { daemon: snap(line(1, 'd', [0, 0, 0, 0])), helpers: snap(line(2, 'h', [0, 0, 0, 0]), line(3, 'h', [0, 0, 0, 0])), pods: snap(line(4, 'pause', [0, 0, 0, 0])) };
    const after = { daemon: snap(line(1, 'd', [250, 50, 100, 0])), helpers: snap(line(2, 'h', [10, 10, 30, 10])), pods: snap(line(4, 'pause', [1, 0, 0, 0])) };
    expect(windowCpu(before, after, 100)).to.deep.equal({
      daemonSelfS: 3,
      daemonChildrenS: 1,
      helpers: 2,
      helpersSelfS: 0.2,
      helpersChildrenS: 0.4,
      helpersLost: 1,
      podProcesses: 1,
      podProcessesS: 0.01,
    });
  });

  it('adds up the CPU and wall time of interleaved windows and keeps the worst event-loop delay', () => {
    const win = (k: number, lag?: number): KubeletWindow => ({
      windowMs: 30_000,
      samples: Object.fromEntries(KUBELET_RPCS.map((r) => [r, [k]])) as unknown as Record<KubeletRpc, number[]>,
      errors: Object.fromEntries(KUBELET_RPCS.map((r) => [r, r === 'ExecSync' ? k : 0])) as Record<KubeletRpc, number>,
      firstError: k === 2 ? 'second' : undefined,
      maxInFlight: k,
      cpu: { daemonSelfS: k, daemonChildrenS: 0.5, helpers: 110, helpersSelfS: 1, helpersChildrenS: 2, helpersLost: k - 1, podProcesses: 110, podProcessesS: 0 },
      loopLag: lag === undefined ? undefined : { p50Ms: 10, p99Ms: lag, maxMs: lag * 2 },
    });
    const m = mergeWindows([win(1, 30), win(2, 20)]);
    expect(m.windowMs).to.equal(60_000);
    expect(m.samples.ListPodSandbox).to.deep.equal([1, 2]);
    expect(m.errors.ExecSync).to.equal(3);
    expect(m.firstError).to.equal('second');
    expect(m.maxInFlight).to.equal(2);
    expect(m.cpu).to.deep.equal({ daemonSelfS: 3, daemonChildrenS: 1, helpers: 110, helpersSelfS: 2, helpersChildrenS: 4, helpersLost: 1, podProcesses: 110, podProcessesS: 0 });
    expect(m.loopLag).to.deep.equal({ p50Ms: 10, p99Ms: 30, maxMs: 60 });
    expect(mergeWindows([win(1, 30), win(2)]).loopLag).to.equal(undefined);
    expect(() => mergeWindows([])).to.throw(/none/);
  });
});
