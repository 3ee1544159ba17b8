/**
 * The shipped monitoring files against a real Prometheus (Debian's `prometheus` package): promtool
 * accepts the scrape config; Prometheus scrapes a test berthd with the config's local job, and
 * every query of the Grafana dashboard returns data once berthd served RPCs, a pod and a pull.
 */
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { freePort, startRegistry, type TestRegistry } from './support/registry';
import { busyboxImage, pushImage } from './support/test-images';

const REPO = path.resolve(__dirname, '..', '..', '..');

/** The Prometheus scrape fragment shipped in the ConfigMap. */
function shippedScrapeConfig(): string {
  const cm = yaml.load(fs.readFileSync(path.join(REPO, 'manifests/monitoring/prometheus-scrape-config.yaml'), 'utf8')) as { data: Record<string, string> };
  return cm.data['berth-scrape.yml'];
}

/** Every PromQL expression of the dashboard, with Grafana's variables replaced. */
function dashboardQueries(): Array<{ title: string; expr: string }> {
  const dash = JSON.parse(fs.readFileSync(path.join(REPO, 'manifests/grafana/berth-dashboard.json'), 'utf8')) as { panels: Panel[] };
  type Panel = { title?: string; targets?: Array<{ expr?: string }>; panels?: Panel[] };
  const out: Array<{ title: string; expr: string }> = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ title: p.title ?? '', expr: t.expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m') });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  return out;
}

type Sample = { metric: Record<string, string>; value: [number, string] };

describe('e2e: Prometheus scraping berthd with the shipped config and dashboard', function () {
  this.timeout(120_000);
  let tmp: string;
  let d: BerthdInstance | undefined;
  let registry: TestRegistry | undefined;
  let prometheus: ChildProcess | undefined;
  let promAddress: string;

  async function query(expr: string): Promise<Sample[]> {
    const res = await fetch(`http://${promAddress}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
    return body.data!.result;
  }

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-prom-'));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGKILL');
      await new Promise((resolve) => prometheus!.once('exit', resolve));
    }
    await d?.cleanup();
    await registry?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('promtool accepts the shipped scrape config (node discovery swapped for static targets)', async () => {
    // Debian builds Prometheus without Kubernetes service discovery ("field kubernetes_sd_configs
    // not found"); everything else of the job, relabelling included, is checked as shipped.
    const shipped = shippedScrapeConfig();
    const discovery = /kubernetes_sd_configs:\n(\s+)- role: node\n/;
    expect(shipped).to.match(discovery);
    const file = path.join(tmp, 'shipped.yml');
    fs.writeFileSync(file, shipped.replace(discovery, (_m, indent: string) => `static_configs:\n${indent}- targets: ['192.0.2.10:10250']\n`));
    const { stdout } = await promisify(execFile)('promtool', ['check', 'config', file]);
    expect(stdout).to.contain('SUCCESS');
    const broken = path.join(tmp, 'broken.yml');
    fs.writeFileSync(broken, shipped.replace('metrics_path: /metrics', 'metrics_path: [/metrics]'));
    const refused = await promisify(execFile)('promtool', ['check', 'config', broken]).then(() => 'accepted', (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`);
    expect(refused).to.contain('FAILED');
  });

  it('answers every dashboard query with data from a scraped berthd', async () => {
    registry = await startRegistry();
    await pushImage(registry.host, 'library/busybox', '1', await busyboxImage());
    const registriesConf = path.join(tmp, 'registries.conf');
    fs.writeFileSync(registriesConf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
    d = await startBerthd({ name: 'berth-prom', extraArgs: ['--registries-config', registriesConf] });

    // The shipped local job, pointed at this berthd instead of 127.0.0.1:9090, scraped every second.
    const shipped = yaml.load(shippedScrapeConfig()) as { scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }> };
    const local = shipped.scrape_configs.find((j) => j.job_name === 'berth-local')!;
    local.static_configs = [{ targets: [d.metricsAddress!] }];
    const configFile = path.join(tmp, 'prometheus.yml');
    fs.writeFileSync(configFile, yaml.dump({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, scrape_configs: [local] }));
    promAddress = `127.0.0.1:${await freePort()}`;
    prometheus = spawn('prometheus', [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(tmp, 'data')}`, `--web.listen-address=${promAddress}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prometheus.stderr!.setEncoding('utf8').on('data', (c: string) => (promLog = (promLog + c).slice(-4000)));
    const waitFor = async (what: string, probe: () => Promise<boolean>, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!(await probe().catch(() => false))) {
        if (Date.now() > deadline) throw new Error(`${what} not reached in time; prometheus log:\n${promLog}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await waitFor('prometheus ready', async () => (await fetch(`http://${promAddress}/-/ready`)).status === 200);
    await waitFor('first scrape', async () => (await query('up{job="berth-local"} == 1')).length === 1);

    // Labelled series appear with their first observation, and rates need two samples: work
    // once, let Prometheus see the series, then work again.
    const client = d.client();
    const logs = path.join(tmp, 'logs');
    fs.mkdirSync(logs);
    const work = async (round: number) => {
      for (let i = 0; i < 5; i++) await client.version({});
      await client.checkpointContainer({ containerId: 'x' }).catch(() => undefined);
      await client.pullImage({ image: { image: `${registry!.host}/library/busybox:1` } });
      const name = `scraped-${round}`;
      const podConfig = { metadata: { name, namespace: 'e2e', uid: `uid-${name}`, attempt: 0 }, hostname: name, logDirectory: logs, linux: {} };
      const { podSandboxId } = await client.runPodSandbox({ config: podConfig });
      // Container steps (create, start, exec) for the container step panel.
      const image = { image: `${registry!.host}/library/busybox:1` };
      const { containerId } = await client.createContainer({ podSandboxId, config: { metadata: { name: 'c', attempt: 0 }, image, command: ['sleep', '60'], logPath: 'c.log' }, sandboxConfig: podConfig });
      await client.startContainer({ containerId });
      await client.execSync({ containerId, cmd: ['true'], timeout: 10 });
    };
    const pulls = 'container_runtime_berth_image_pulls_total{job="berth-local"}';
    const samples = async () => Number((await query(`count_over_time(${pulls}[1m])`))[0]?.value[1] ?? 0);
    await work(1);
    await waitFor('a scrape after the first round', async () => (await samples()) >= 2);
    await work(2);
    await waitFor('a scrape after the second round', async () => (await query(`increase(${pulls}[1m]) > 0`)).length > 0);

    const instances = await query('count by (instance) (container_runtime_berth_operations_total)');
    expect(instances.map((s) => s.metric.instance)).to.deep.equal([d.metricsAddress]);
    const empty: string[] = [];
    for (const { title, expr } of dashboardQueries()) {
      const result = await query(expr);
      if (!result.some((s) => Number.isFinite(Number(s.value[1])))) empty.push(`${title}: ${expr} -> ${JSON.stringify(result)}`);
    }
    expect(empty, `queries without data:\n${empty.join('\n')}`).to.deep.equal([]);
    expect(dashboardQueries().length).to.be.greaterThan(10);
  });
});
