/**
 * A self-contained HTML page for a bench run: the text tables, and per operation an inline SVG
 * strip plot of every sample for each runtime with its box (p25–p75), median and p90 marks. No
 * scripts, fonts or external assets, so the file can be mailed or attached to an issue.
 */
import { formatKubeletCostTable, formatKubeletRpcTable, formatParallelStartTable, kubeletHeading, parallelStartHeading } from './kubelet-report';
import { KUBELET_RPCS } from './kubelet-schedule';
import { formatDensityTable, formatLatencyTable, reportOps, TARGETS_MS, type BenchReport } from './report-model';
import { fmtMs, quantile } from './stats';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const WIDTH = 760;
const LEFT = 110;
const RIGHT = 20;
const ROW = 34;

/** Escapes text for HTML and SVG. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** "Nice" tick step for a 0..max axis with about 5 ticks. */
export function tickStep(max: number): number {
  if (!(max > 0)) return 1;
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

/** Deterministic jitter in [-1, 1] so the page is the same for the same data. */
function jitter(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return (x - Math.floor(x)) * 2 - 1;
}

/** One operation's chart: a row per runtime, samples as dots, box p25–p75, median and p90 ticks. */
export function operationSvg(op: string, series: Array<{ label: string; samples: number[] }>, targetMs?: number): string {
  const max = Math.max(...series.flatMap((s) => s.samples), targetMs ?? 0) * 1.05 || 1;
  const step = tickStep(max);
  const axisMax = Math.ceil(max / step) * step;
  const height = 24 + series.length * ROW + 26;
  const x = (v: number) => LEFT + ((WIDTH - LEFT - RIGHT) * v) / axisMax;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeHtml(op)} latency">`);
  parts.push(`<text x="4" y="16" font-size="13" font-weight="bold">${escapeHtml(op)} (ms)</text>`);
  const axisY = 24 + series.length * ROW;
  for (let t = 0; t <= axisMax + 1e-9; t += step) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="24" x2="${x(t).toFixed(1)}" y2="${axisY}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${axisY + 14}" font-size="10" text-anchor="middle">${Number(t.toPrecision(6))}</text>`);
  }
  if (targetMs !== undefined) {
    parts.push(`<line x1="${x(targetMs).toFixed(1)}" y1="22" x2="${x(targetMs).toFixed(1)}" y2="${axisY}" stroke="#888" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x(targetMs).toFixed(1)}" y="${axisY + 24}" font-size="9" text-anchor="middle" fill="#555">target ${targetMs}</text>`);
  }
  series.forEach((s, row) => {
    const cy = 24 + row * ROW + ROW / 2;
    const color = COLORS[row % COLORS.length];
    parts.push(`<text x="4" y="${cy + 4}" font-size="12" fill="${color}">${escapeHtml(s.label)}</text>`);
    if (s.samples.length === 0) return;
    const [p25, p50, p75, p90] = [0.25, 0.5, 0.75, 0.9].map((q) => quantile(s.samples, q));
    parts.push(`<rect x="${x(p25).toFixed(1)}" y="${cy - 9}" width="${Math.max(1, x(p75) - x(p25)).toFixed(1)}" height="18" fill="${color}" fill-opacity="0.15" stroke="${color}"/>`);
    s.samples.forEach((v, i) => parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitter(i + row * 997) * 7).toFixed(1)}" r="2.2" fill="${color}" fill-opacity="0.6"><title>${fmtMs(v)} ms</title></circle>`));
    parts.push(`<line x1="${x(p50).toFixed(1)}" y1="${cy - 12}" x2="${x(p50).toFixed(1)}" y2="${cy + 12}" stroke="${color}" stroke-width="3"><title>median ${fmtMs(p50)} ms</title></line>`);
    parts.push(`<line x1="${x(p90).toFixed(1)}" y1="${cy - 7}" x2="${x(p90).toFixed(1)}" y2="${cy + 7}" stroke="${color}" stroke-width="1.5" stroke-dasharray="2 2"><title>p90 ${fmtMs(p90)} ms</title></line>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The parallel-start and kubelet tables, and a chart per kubelet RPC, when those sections ran. */
function sectionTables(report: BenchReport): string[] {
  const out: string[] = [];
  const par = report.runs.find((r) => r.parallelStart)?.parallelStart;
  if (par) out.push(`<h2>${escapeHtml(parallelStartHeading(par))}</h2>`, `<pre>${escapeHtml(formatParallelStartTable(report.runs))}</pre>`);
  const kub = report.runs.find((r) => r.kubelet)?.kubelet;
  if (kub) {
    out.push(`<h2>${escapeHtml(kubeletHeading(kub))}</h2>`, `<pre>${escapeHtml(formatKubeletRpcTable(report.runs))}</pre>`, `<pre>${escapeHtml(formatKubeletCostTable(report.runs))}</pre>`);
    const withK = report.runs.filter((r) => r.kubelet);
    for (const rpc of KUBELET_RPCS) out.push(operationSvg(`kubelet window: ${rpc}`, withK.map((r) => ({ label: r.label, samples: r.kubelet!.samples[rpc] }))));
  }
  return out;
}

/** The whole page. */
export function renderHtmlReport(report: BenchReport): string {
  const title = `berth bench — ${report.runs.map((r) => r.label).join(' vs ')} — ${report.startedAt}`;
  const charts = reportOps(report).map((op) =>
    operationSvg(
      op,
      report.runs.map((r) => ({ label: r.label, samples: r.samples[op] ?? [] })),
      TARGETS_MS[op],
    ),
  );
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;margin:24px;max-width:900px}pre{background:#f6f6f6;padding:12px;overflow-x:auto;font-size:12px}svg{display:block;margin:10px 0 18px}</style>',
    '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${report.runs.map((r) => `<b>${escapeHtml(r.label)}</b>: ${escapeHtml(r.version)}`).join(' · ')}</p>`,
    `<p>${escapeHtml(report.conditions)}</p>`,
    ...(charts.length > 0 ? ['<h2>Latency (median, p90)</h2>', `<pre>${escapeHtml(formatLatencyTable(report))}</pre>`] : []),
    '<h2>Density and memory</h2>',
    `<pre>${escapeHtml(formatDensityTable(report))}</pre>`,
    ...sectionTables(report),
    ...report.runs.flatMap((r) => (r.notes ?? []).map((n) => `<p><b>${escapeHtml(r.label)}</b>: ${escapeHtml(n)}</p>`)),
    '<h2>Distributions</h2>',
    '<p>Each dot is one call; the box spans p25–p75, the thick mark is the median, the dashed mark p90; the grey dashed line is berth\'s target.</p>',
    ...charts,
    '</body></html>',
    '',
  ].join('\n');
}
