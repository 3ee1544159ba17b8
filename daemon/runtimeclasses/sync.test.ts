import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dispatch } from '../commands';
import { parseArgs } from '../flags';
import { FakeApiserver, kubeconfigFor } from './fake-apiserver';
import { MANAGED_BY_LABEL } from './plan';

const TOKEN = 'test-token-7f3a';
const COLLECTION = '/apis/node.k8s.io/v1/runtimeclasses';

describe('daemon/runtimeclasses sync against a fake apiserver', function () {
  // Loading @kubernetes/client-node the first time takes about a second.
  this.timeout(20000);
  let dir: string;
  let apiserver: FakeApiserver;
  let kubeconfig: string;
  let configFile: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rc-sync-test-'));
    apiserver = new FakeApiserver();
    const url = await apiserver.start();
    kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigFor(url, TOKEN));
    // The default [runtimes] (runc, crun) plus one more handler.
    configFile = path.join(dir, 'berth.toml');
    fs.writeFileSync(configFile, '[runtimes.kata]\npath = "/usr/bin/kata-runtime"\n');
  });
  afterEach(async () => {
    await apiserver.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(...extra: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const argv = ['runtimeclasses', 'sync', '--config', configFile, '--config-dir', path.join(dir, 'd'), '--kubeconfig', kubeconfig, ...extra];
    const code = await dispatch({ args: parseArgs(argv), stdout: (t) => (out += t), stderr: (t) => (err += t) });
    return { code, out, err };
  }

  function seedCluster(): void {
    // runc exists without berth's label (kept: its other label and overhead), crun is missing,
    // kata is already berth's, gvisor is berth's but not configured on this node.
    apiserver.put({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'runc', labels: { team: 'infra' } }, handler: 'runc', overhead: { podFixed: { memory: '10Mi' } } });
    apiserver.put({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'kata', labels: { [MANAGED_BY_LABEL]: 'berth' } }, handler: 'kata' });
    apiserver.put({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'gvisor', labels: { [MANAGED_BY_LABEL]: 'berth' } }, handler: 'runsc' });
  }

  it('dry run only lists, and reports what it would change', async () => {
    seedCluster();
    const r = await run();
    expect(r.err).to.equal('');
    expect(r.code).to.equal(0);
    expect(apiserver.requests.map((q) => `${q.method} ${q.path}`)).to.deep.equal([`GET ${COLLECTION}`]);
    expect(apiserver.requests[0].authorization).to.equal(`Bearer ${TOKEN}`);
    expect(r.out).to.contain('(dry run; --apply writes)');
    expect(r.out).to.match(/crun +would create/);
    expect(r.out).to.match(/kata +unchanged/);
    expect(r.out).to.match(/runc +would update \(label app\.kubernetes\.io\/managed-by was missing\)/);
    expect(r.out).to.match(/gvisor +left alone: .*handler "runsc" is not configured on this node/);
    expect(apiserver.objects.get('crun')).to.equal(undefined);
  });

  it('--apply creates and replaces with the exact bodies, then a second sync changes nothing', async () => {
    seedCluster();
    const runcVersion = apiserver.objects.get('runc')?.metadata.resourceVersion;
    const r = await run('--apply');
    expect(r.err).to.equal('');
    expect(r.code).to.equal(0);
    expect(apiserver.requests.map((q) => `${q.method} ${q.path}`)).to.deep.equal([`GET ${COLLECTION}`, `POST ${COLLECTION}`, `PUT ${COLLECTION}/runc`]);
    expect(apiserver.requests[1].body).to.deep.equal({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'crun', labels: { [MANAGED_BY_LABEL]: 'berth' } },
      handler: 'crun',
    });
    expect(apiserver.requests[2].body).to.deep.equal({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'runc', labels: { team: 'infra', [MANAGED_BY_LABEL]: 'berth' }, resourceVersion: runcVersion },
      handler: 'runc',
      overhead: { podFixed: { memory: '10Mi' } },
    });
    for (const q of apiserver.requests) expect(q.authorization).to.equal(`Bearer ${TOKEN}`);
    expect(r.out).to.match(/crun +created/);
    expect(r.out).to.match(/runc +updated/);
    expect(apiserver.objects.get('crun')?.handler).to.equal('crun');

    apiserver.requests.length = 0;
    const again = await run('--apply');
    expect(again.code).to.equal(0);
    expect(apiserver.requests.map((q) => q.method)).to.deep.equal(['GET']);
    expect(again.out).to.match(/crun +unchanged/);
    expect(again.out).to.match(/runc +unchanged/);
  });

  it('a RuntimeClass with the same name but another handler is a conflict: no write, exit 1', async () => {
    apiserver.put({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'runc' }, handler: 'runc-legacy' });
    const r = await run('--apply');
    expect(r.code).to.equal(1);
    expect(apiserver.requests.map((q) => `${q.method} ${q.path}`)).to.deep.equal([`GET ${COLLECTION}`, `POST ${COLLECTION}`, `POST ${COLLECTION}`]);
    expect(apiserver.requests.slice(1).map((q) => (q.body as { metadata: { name: string } }).metadata.name)).to.deep.equal(['crun', 'kata']);
    expect(r.out).to.match(/runc +conflict: RuntimeClass runc exists with handler "runc-legacy"/);
    expect(r.err).to.contain('1 conflict(s): runc');
    expect(apiserver.objects.get('runc')?.handler).to.equal('runc-legacy');
  });

  it('403 from the apiserver is a clear error and a non-zero exit', async () => {
    apiserver.forbidden = true;
    const r = await run('--apply');
    expect(r.code).to.equal(1);
    expect(r.out).to.equal('');
    expect(r.err).to.contain('runtimeclasses sync: list RuntimeClasses at http://127.0.0.1:');
    expect(r.err).to.contain('HTTP 403 Forbidden: runtimeclasses.node.k8s.io is forbidden');
    expect(r.err).to.contain('needs get/list/create/update on runtimeclasses.node.k8s.io');
    expect(r.err.trim().split('\n'), 'one line, without the client library\'s body dump').to.have.length(1);
    expect(apiserver.requests.map((q) => q.method)).to.deep.equal(['GET']);
  });

  it('an unreachable apiserver and a missing kubeconfig are errors naming what failed', async () => {
    await apiserver.close();
    const down = await run();
    expect(down.code).to.equal(1);
    expect(down.err).to.match(/list RuntimeClasses at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    kubeconfig = path.join(dir, 'absent');
    const missing = await run();
    expect(missing.code).to.equal(1);
    expect(missing.err).to.contain(`load kubeconfig ${kubeconfig}`);
  });

  it('refuses its flags on other commands', () => {
    expect(() => parseArgs(['config', '--apply'])).to.throw(/--apply is only for "berthd runtimeclasses sync"/);
    expect(() => parseArgs(['runtimeclasses', 'sync', '--apply=yes'])).to.throw(/--apply takes no value/);
  });
});
