/** Small statistics and formatting helpers shared by bench sections. */

/** The q-quantile (0..1) of `values` by nearest rank; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Median and p90 of a list of milliseconds. */
export function summarize(ms: readonly number[]): { medianMs: number; p90Ms: number } {
  return { medianMs: quantile(ms, 0.5), p90Ms: quantile(ms, 0.9) };
}

/** `ms` rounded to a tenth. */
export function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Median and p90 of a list of milliseconds, rounded to a tenth. */
export function roundedSummary(ms: readonly number[]): { medianMs: number; p90Ms: number } {
  return { medianMs: round1(quantile(ms, 0.5)), p90Ms: round1(quantile(ms, 0.9)) };
}

/** A plain-text table with left-aligned columns. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Milliseconds with a precision that suits the magnitude. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms < 10 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(1);
}
