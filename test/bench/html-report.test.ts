import { expect } from 'chai';
import { escapeHtml, operationSvg, renderHtmlReport, tickStep } from './html-report';
import { formatDensityTable, formatLatencyTable, type BenchReport } from './report-model';

const report: BenchReport = {
  startedAt: '2026-01-01T00:00:00.000Z',
  conditions: 'test <conditions>',
  runs: [
    { label: 'berth', version: 'berth 0.1.0', samples: { RunPodSandbox: [80, 90, 100, 70], Version: [0.2, 0.3] } },
    { label: 'containerd', version: 'containerd 1.6.20', samples: { RunPodSandbox: [350, 360, 340, 400], Version: [0.4, 0.5] } },
  ],
};

describe('bench: HTML report', () => {
  it('escapes markup', () => {
    expect(escapeHtml(`<a href="x">&'`)).to.equal('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('picks 1-2-5 tick steps', () => {
    expect(tickStep(100)).to.equal(20);
    expect(tickStep(7)).to.equal(2);
    expect(tickStep(0.9)).to.equal(0.2);
    expect(tickStep(0)).to.equal(1);
  });

  it('draws one dot per sample and a row per runtime', () => {
    const svg = operationSvg('RunPodSandbox', [{ label: 'a', samples: [1, 2, 3] }, { label: 'b', samples: [4, 5] }], 150);
    expect(svg.match(/<circle /g)).to.have.length(5);
    expect(svg).to.contain('>a</text>').and.to.contain('>b</text>');
    expect(svg).to.contain('target 150');
  });

  it('renders a self-contained page with the tables and a chart per operation', () => {
    const html = renderHtmlReport(report);
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html).to.not.match(/<script|<link|src="http/);
    expect(html.match(/<svg /g)).to.have.length(2);
    expect(html).to.contain('test &lt;conditions&gt;');
    expect(html).to.contain(escapeHtml(formatLatencyTable(report)));
  });

  it('prints the ratio of the second runtime to the first and the target verdict', () => {
    const table = formatLatencyTable(report);
    const run = table.split('\n').find((l) => l.startsWith('RunPodSandbox'))!;
    expect(run).to.contain('4.4×'); // nearest-rank medians 350 / 80
    expect(run).to.contain('≤ 150 ok');
  });

  it('leaves out the density rows no runtime has a number for', () => {
    const table = formatDensityTable({ ...report, runs: report.runs.map((r, i) => ({ ...r, readyMs: 100 + i })) });
    expect(table).to.match(/daemon spawn → serving ms\s+100\s+101/);
    expect(table).to.not.contain('helpers PSS MiB');
    expect(table.split('\n')).to.have.length(3);
  });
});
