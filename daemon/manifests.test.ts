/**
 * Validates manifests/ and contrib/crictl.yaml against the code: every YAML document parses as
 * a Kubernetes object with its required fields, RuntimeClasses match the default [runtimes]
 * table, endpoints and ports match the config defaults, and every metric the Grafana dashboard
 * queries is registered by berthd.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultConfig, defaultRuntimes } from './config-schema';
import { DaemonMetrics } from './metrics';
import { registerInventoryMetrics } from './metrics-inventory';
import { desiredRuntimeClass } from './runtimeclasses/plan';

type ClientModule = typeof import('@kubernetes/client-node');
type Obj = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

/** A top-level folder of this checkout (from dist/daemon or from a private outDir run in the repo). */
function repoPath(...parts: string[]): string {
  const candidates = [path.resolve(__dirname, '..', '..', ...parts), path.resolve(...parts)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`${parts.join('/')} not found (looked at ${candidates.join(', ')})`);
  return found;
}

function filesUnder(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

const defaults = defaultConfig();
const metricsPort = defaults.metricsListen.split(':').pop();

describe('manifests/ and contrib/ against the code', function () {
  this.timeout(20000);
  let k8s: ClientModule;
  let docs: Map<string, Obj[]>;

  before(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES module; loaded only here
    k8s = require('@kubernetes/client-node') as ClientModule;
    docs = new Map();
    for (const file of filesUnder(repoPath('manifests'), '.yaml')) docs.set(path.relative(repoPath('manifests'), file), k8s.loadAllYaml(fs.readFileSync(file, 'utf8')) as Obj[]);
  });

  function all(kind: string): Obj[] {
    return [...docs.values()].flat().filter((o) => o.kind === kind);
  }
  function one(kind: string): Obj {
    const found = all(kind);
    expect(found, kind).to.have.length(1);
    return found[0];
  }

  it('every manifest parses, with apiVersion, kind and (for API objects) metadata.name', () => {
    expect([...docs.keys()]).to.include.members(['runtimeclasses.yaml', 'kubelet-config.yaml', 'monitoring/prometheus-scrape-config.yaml', 'monitoring/scrapeconfig.yaml', 'monitoring/servicemonitor.yaml', 'grafana/dashboard-configmap.yaml']);
    for (const [file, objects] of docs) {
      expect(objects.length, file).to.be.greaterThan(0);
      for (const o of objects) {
        expect(o.apiVersion, file).to.be.a('string').and.match(/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/);
        expect(o.kind, file).to.be.a('string').and.match(/^[A-Z][A-Za-z]+$/);
        if (o.kind === 'KubeletConfiguration') continue; // a config file, not an API object
        expect(o.metadata?.name, `${file} ${o.kind}`).to.match(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      }
    }
  });

  it('has exactly one RuntimeClass per default runtime handler, as runtimeclasses sync writes it', () => {
    const classes = all('RuntimeClass');
    expect(classes.map((c) => c.metadata?.name).sort()).to.deep.equal(Object.keys(defaultRuntimes()).sort());
    for (const c of classes) expect(c).to.deep.equal(desiredRuntimeClass(String(c.handler)));
    expect(Object.keys(defaultRuntimes())).to.include(defaults.defaultRuntime);
  });

  it('kubelet config points at the default socket and cgroup driver', () => {
    const kubelet = one('KubeletConfiguration');
    expect(kubelet.apiVersion).to.equal('kubelet.config.k8s.io/v1beta1');
    expect(kubelet.containerRuntimeEndpoint).to.equal(`unix://${defaults.listen}`);
    expect(kubelet.imageServiceEndpoint).to.equal(`unix://${defaults.listen}`);
    expect(kubelet.cgroupDriver).to.equal(defaults.cgroupDriver);
  });

  it('scrape configs use /metrics and the default metrics.listen port', () => {
    expect(metricsPort).to.equal('9090');
    const cm = all('ConfigMap').find((c) => c.metadata?.name === 'berth-prometheus-scrape');
    const data = (cm?.data ?? {}) as Record<string, string>;
    const scrape = k8s.loadYaml(data['berth-scrape.yml']) as { scrape_configs: Array<Record<string, unknown>> };
    const [nodes, local] = scrape.scrape_configs;
    expect(nodes.metrics_path).to.equal('/metrics');
    expect(nodes.relabel_configs).to.deep.include({ source_labels: ['__address__'], regex: '([^:]+)(?::\\d+)?', target_label: '__address__', replacement: `\${1}:${metricsPort}` });
    expect(local.static_configs).to.deep.equal([{ targets: [defaults.metricsListen] }]);

    const sc = one('ScrapeConfig') as { spec?: { metricsPath?: string; relabelings?: Array<Record<string, unknown>> } };
    expect(sc.spec?.metricsPath).to.equal('/metrics');
    expect(sc.spec?.relabelings?.[0].replacement).to.equal(`\${1}:${metricsPort}`);

    const svc = one('Service') as Obj & { spec?: { ports?: Array<{ port: number; targetPort: number; name: string }> } };
    expect(svc.spec?.ports).to.deep.equal([{ name: 'metrics', port: Number(metricsPort), targetPort: Number(metricsPort), protocol: 'TCP' }]);
    const slice = one('EndpointSlice') as { ports?: Array<{ port: number }>; metadata?: { labels?: Record<string, string> } };
    expect(slice.ports?.[0].port).to.equal(Number(metricsPort));
    expect(slice.metadata?.labels?.['kubernetes.io/service-name']).to.equal('berth-metrics');
    const sm = one('ServiceMonitor') as { spec?: { selector?: { matchLabels?: Record<string, string> }; endpoints?: Array<{ port: string; path: string }> } };
    expect(svc.metadata?.labels).to.deep.include(sm.spec?.selector?.matchLabels ?? { missing: 'selector' });
    expect(sm.spec?.endpoints?.[0]).to.include({ port: 'metrics', path: '/metrics' });
  });

  describe('Grafana dashboard', () => {
    let dashboard: { uid: string; panels: Array<{ id: number; type: string; title: string; targets?: Array<{ expr: string }> }>; templating: { list: Array<{ definition?: string }> } };
    let exprs: string[];

    before(() => {
      const file = fs.readFileSync(repoPath('manifests', 'grafana', 'berth-dashboard.json'), 'utf8');
      const cm = all('ConfigMap').find((c) => c.metadata?.name === 'berth-grafana-dashboard');
      const embedded = ((cm?.data ?? {}) as Record<string, string>)['berth-dashboard.json'];
      expect(embedded, 'the ConfigMap embeds berth-dashboard.json verbatim').to.equal(file);
      expect(cm?.metadata?.labels?.grafana_dashboard).to.equal('1');
      dashboard = JSON.parse(file) as typeof dashboard;
      exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...dashboard.templating.list.map((v) => v.definition ?? '')];
    });

    it('has unique panel ids and a query on every non-row panel', () => {
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size).to.equal(ids.length);
      for (const p of dashboard.panels.filter((p) => p.type !== 'row')) expect(p.targets?.length, p.title).to.be.greaterThan(0);
    });

    it('queries only metrics berthd registers (histogram series by their base name)', async () => {
      const metrics = new DaemonMetrics();
      registerInventoryMetrics(metrics.registry, {});
      const types = new Map((await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
      const used = new Set(exprs.flatMap((e) => e.match(/\b(?:container_runtime_berth|berth)_[a-z0-9_]+\b/g) ?? []));
      expect(used.size).to.be.greaterThan(10);
      for (const name of used) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (types.has(name)) continue;
        expect(types.get(base), `${name} is not registered by berthd`).to.equal('histogram');
      }
    });

    it('has well-formed queries: balanced brackets, ranged rate()/increase(), quantiles over _bucket by le', () => {
      let rangedCalls = 0;
      for (const expr of exprs.filter((e) => !e.startsWith('label_values'))) {
        const stack: string[] = [];
        for (const ch of expr.replace(/"[^"]*"/g, '""')) {
          if ('([{'.includes(ch)) stack.push(ch);
          else if (')]}'.includes(ch)) expect(stack.pop(), expr).to.equal('([{'[')]}'.indexOf(ch)]);
        }
        expect(stack, expr).to.deep.equal([]);
        for (const call of expr.match(/\b(rate|increase)\([^()]*\)/g) ?? []) {
          expect(call, expr).to.match(/\[\$__rate_interval\]\)$/);
          rangedCalls++;
        }
        if (expr.includes('histogram_quantile(')) expect(expr, expr).to.match(/by \(le\b[^)]*\) \(rate\([a-z_]+_bucket\{/);
      }
      expect(rangedCalls).to.be.greaterThan(10);
    });

    it('covers RPC rate, errors, latency, pod start steps, pull throughput and container states', () => {
      const text = exprs.join('\n');
      for (const needle of [
        'container_runtime_berth_operations_total',
        'container_runtime_berth_operations_errors_total',
        'container_runtime_berth_operations_latency_seconds_bucket',
        'container_runtime_berth_pod_start_step_seconds_bucket',
        'rate(container_runtime_berth_image_pulled_bytes_total',
        'container_runtime_berth_containers',
      ]) expect(text).to.contain(needle);
    });
  });

  it('contrib/crictl.yaml points crictl at the default socket', () => {
    const text = fs.readFileSync(repoPath('contrib', 'crictl.yaml'), 'utf8');
    const crictl = k8s.loadYaml(text) as Record<string, unknown>;
    expect(crictl['runtime-endpoint']).to.equal(`unix://${defaults.listen}`);
    expect(crictl['image-endpoint']).to.equal(`unix://${defaults.listen}`);
    expect(crictl.timeout).to.equal(10);
    expect(crictl.debug).to.equal(false);
  });
});
