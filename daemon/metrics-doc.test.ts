import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DaemonMetrics } from './metrics';
import { registerInventoryMetrics } from './metrics-inventory';

/** docs/metrics.md of this checkout (from dist/daemon or from a private outDir run in the repo). */
function docPath(): string {
  const candidates = [path.resolve(__dirname, '..', '..', 'docs', 'metrics.md'), path.resolve('docs', 'metrics.md')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`docs/metrics.md not found (looked at ${candidates.join(', ')})`);
  return found;
}

interface Row {
  type: string;
  labels: string[];
}

/** The doc's table rows: | `name` | type | `label`, `label` | meaning |. */
function documentedMetrics(text: string): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const line of text.split('\n')) {
    const m = /^\| `([a-z0-9_]+)` \| ([a-z]+) \|([^|]*)\|/.exec(line);
    if (!m) continue;
    expect(rows.has(m[1]), `${m[1]} documented twice`).to.equal(false);
    rows.set(m[1], { type: m[2], labels: [...m[3].matchAll(/`([a-z_]+)`/g)].map((l) => l[1]) });
  }
  return rows;
}

describe('docs/metrics.md against the registry', () => {
  it('documents exactly the metrics berthd registers, with their types and labels', async () => {
    const metrics = new DaemonMetrics();
    registerInventoryMetrics(metrics.registry, {});
    const registered = new Map<string, Row>();
    for (const json of await metrics.registry.getMetricsAsJSON()) {
      // prom-client keeps the declared label names on the metric object (not in its typings).
      const metric = metrics.registry.getSingleMetric(json.name) as unknown as { labelNames?: string[] };
      registered.set(json.name, { type: String(json.type), labels: [...(metric.labelNames ?? [])] });
    }
    const documented = documentedMetrics(fs.readFileSync(docPath(), 'utf8'));
    const missing = [...registered.keys()].filter((n) => !documented.has(n));
    const stale = [...documented.keys()].filter((n) => !registered.has(n));
    expect(missing, 'registered but not in docs/metrics.md').to.deep.equal([]);
    expect(stale, 'in docs/metrics.md but not registered').to.deep.equal([]);
    for (const [name, row] of registered) expect(documented.get(name), name).to.deep.equal(row);
  });
});
