import { expect } from 'chai';
import { renderHtmlReport } from './html-report';
import type { KubeletResult } from './kubelet-load';
import { comparisonRows, formatKubeletCostTable, formatKubeletRpcTable, formatParallelStartTable, ratio } from './kubelet-report';
import { KUBELET_RPCS, type KubeletRpc } from './kubelet-schedule';
import type { RuntimeRun } from './report-model';

function kubelet(scale: number, extra: Partial<KubeletResult> = {}): KubeletResult {
  const samples = Object.fromEntries(KUBELET_RPCS.map((r) => [r, Array.from({ length: 100 }, (_, i) => (i + 1) * scale)])) as unknown as Record<KubeletRpc, number[]>;
  const errors = Object.fromEntries(KUBELET_RPCS.map((r) => [r, 0])) as Record<KubeletRpc, number>;
  return {
    pods: 110, durationS: 60, rounds: 1, probedPods: 28, windowMs: 60_000, samples, errors, maxInFlight: 4,
    cpu: { daemonSelfS: 3 * scale, daemonChildrenS: 1, helpers: 110, helpersSelfS: 0.5, helpersChildrenS: 0.5, helpersLost: 0, podProcesses: 110, podProcessesS: 0 },
    loopLag: undefined, daemonPssKiB: 51200, helpersPssKiB: 10240, setupMs: 12_000, teardownMs: 5000, ...extra,
  };
}

const run = (label: string, k: KubeletResult | undefined): RuntimeRun => ({ label, version: label, samples: {}, kubelet: k });

describe('bench: kubelet and parallel-start report rows', () => {
  it('formats ratios and refuses missing or zero denominators', () => {
    expect(ratio(3, 2)).to.equal('1.50×');
    expect(ratio(250, 10)).to.equal('25.0×');
    expect([ratio(undefined, 1), ratio(1, 0), ratio(NaN, 1)]).to.deep.equal(['-', '-', '-']);
  });

  it('puts one column per runtime and the first/second ratio', () => {
    const runs = [run('berth', undefined), run('containerd', undefined)];
    const rows = comparisonRows(runs, [
      { name: 'a', value: (r) => (r.label === 'berth' ? 4 : 2) },
      { name: 'b', value: (r) => (r.label === 'berth' ? 1 : undefined), digits: 0 },
    ]);
    expect(rows).to.deep.equal([['a', '4.00', '2.00', '2.00×'], ['b', '1', '-', '-']]);
    expect(comparisonRows([runs[0]], [{ name: 'a', value: () => 1 }])).to.deep.equal([['a', '1.00']]);
  });

  it('prints p50, p99 and count per RPC with the ratio, and the CPU and memory rows', () => {
    const runs = [run('berth', kubelet(2, { errors: { ...kubelet(1).errors, ExecSync: 3 }, firstError: 'ExecSync: boom' })), run('containerd', kubelet(1))];
    const rpc = formatKubeletRpcTable(runs);
    expect(rpc.split('\n')[0]).to.match(/^RPC \(ms\)\s+berth p50\s+berth p99\s+berth n\s+containerd p50.*p50 berth\/containerd\s+p99 ratio$/);
    const list = rpc.split('\n').find((l) => l.startsWith('ListPodSandbox '))!.split(/\s{2,}/);
    expect(list).to.deep.equal(['ListPodSandbox', '100.0', '198.0', '100', '50.00', '99.00', '100', '2.00×', '2.00×']);
    expect(rpc).to.match(/ExecSync .* 100 \+3 err/);
    const cost = formatKubeletCostTable(runs);
    const cpuRow = cost.split('\n').find((l) => l.startsWith('daemon CPU s (own)'))!.split(/\s{2,}/);
    expect(cpuRow).to.deep.equal(['daemon CPU s (own)', '6.00', '3.00', '2.00×']);
    expect(cost).to.match(/daemon \+ helpers CPU s\s+8\.00\s+5\.00\s+1\.60×/);
    expect(cost).to.match(/daemon \+ helpers PSS MiB\s+60\.0\s+60\.0\s+1\.00×/);
    expect(cost).to.match(/event-loop delay p99 ms\s+-\s+-\s+-/);
    expect(cost).to.contain('berth: first error: ExecSync: boom');
  });

  it('prints the parallel start and the memory after removal', () => {
    const p = (scale: number): RuntimeRun['parallelStart'] => ({ pods: 30, inFlight: 10, totalMs: 3000 * scale, perPodMs: [100 * scale, 200 * scale, 300 * scale], loopLag: { p50Ms: 10, p99Ms: 40, maxMs: 80 }, teardownMs: 1000, daemonPssBeforeKiB: 40960, memoryWaitS: 30, daemonPssAfterKiB: 51200, daemonAnonAfterKiB: 20480 * scale });
    const runs: RuntimeRun[] = [{ label: 'berth', version: '', samples: {}, parallelStart: p(1) }, { label: 'containerd', version: '', samples: {}, parallelStart: p(2) }];
    const t = formatParallelStartTable(runs);
    expect(t).to.match(/total wall s\s+3\.00\s+6\.00\s+0\.50×/);
    expect(t).to.match(/per pod start p90 ms\s+300\.0\s+600\.0\s+0\.50×/);
    expect(t).to.match(/daemon PSS MiB 30 s after removal\s+50\.0\s+50\.0\s+1\.00×/);
    expect(t).to.match(/daemon anonymous MiB then \(no file pages\)\s+20\.0\s+40\.0\s+0\.50×/);
  });

  it('puts both tables and a chart per kubelet RPC into the HTML report', () => {
    const html = renderHtmlReport({ startedAt: 'now', conditions: '', runs: [run('berth', kubelet(2)), run('containerd', kubelet(1))] });
    expect(html).to.contain('kubelet steady state (110 pods, 60 s;');
    expect(html).to.contain('daemon + helpers CPU s');
    for (const rpc of KUBELET_RPCS) expect(html).to.contain(`aria-label="kubelet window: ${rpc} latency"`);
    expect(html).to.not.contain('Latency (median, p90)');
  });
});
