/**
 * berthd's real /metrics output passes `promtool check metrics` (Debian's `prometheus` package,
 * installed by scripts/install-deps.sh; the test fails without it): after a pull, a pod, a
 * container and a failing RPC, so the step histograms, CNI and inventory families carry samples.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { podConfig, RestartableBerthd, TEST_IMAGE } from './reliability-support';

/** Runs `promtool check metrics` on `text`; its exit code and output. */
function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (err) => reject(new Error('run promtool (Debian package prometheus; scripts/install-deps.sh installs it)', { cause: err })));
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('e2e: promtool check metrics on berthd /metrics', function () {
  this.timeout(120_000);
  let b: RestartableBerthd;

  before(async () => {
    b = await RestartableBerthd.create('berth-promtool');
    b.metrics = true;
    await b.start();
  });
  after(async () => {
    await b?.destroy();
  });

  it('promtool flags a gauge named *_total (the check can fail)', async () => {
    const bad = '# HELP x_things_total Things.\n# TYPE x_things_total gauge\nx_things_total 3\n';
    const r = await promtoolCheckMetrics(bad);
    expect(r.code).to.not.equal(0);
    expect(r.output).to.include('non-counter metrics should not have "_total" suffix');
  });

  it('reports no problem on the output of a berthd that pulled, ran a pod and a container, and failed an RPC', async () => {
    const c = b.client();
    await c.pullImage({ image: { image: TEST_IMAGE } });
    const pod = podConfig(b, 'promtool');
    const podId = (await c.runPodSandbox({ config: pod })).podSandboxId!;
    const { containerId } = await c.createContainer({ podSandboxId: podId, config: { metadata: { name: 'app', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '60'] }, sandboxConfig: pod });
    await c.startContainer({ containerId: containerId! });
    await c.containerStatus({ containerId: 'no-such-container' }).catch(() => undefined);
    const text = await (await fetch(`http://${b.metricsAddress}/metrics`)).text();
    expect(text).to.include('container_runtime_berth_operations_total{operation="RunPodSandbox",code="OK"} 1');
    const r = await promtoolCheckMetrics(text);
    expect(r.output.trim(), 'promtool check metrics').to.equal('');
    expect(r.code).to.equal(0);
    expect(text).to.match(/^berth_nodejs_active_handles_all \d+$/m);
    await c.stopPodSandbox({ podSandboxId: podId });
    await c.removePodSandbox({ podSandboxId: podId });
  });
});
