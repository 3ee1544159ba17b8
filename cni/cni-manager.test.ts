import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorKindOf } from '../common/errors';
import { CniManager, CniManagerOptions } from './cni-manager';
import { FakePluginDir } from './testing/fake-plugin-dir';
import { PodNetworkRequest } from './types';
import { fakeCniOptions } from './testing/cni-manager-fixtures';

describe('cni/CniManager (fake plugins)', () => {
  let plugins: FakePluginDir;
  let root: string;
  let netns: string;
  const managers: CniManager[] = [];

  const chain = {
    cniVersion: '1.0.0',
    name: 'testnet',
    plugins: [
      { type: 'alpha', mode: 'x' },
      { type: 'beta', capabilities: { portMappings: true } },
      { type: 'gamma', capabilities: { bandwidth: true, dns: true } },
    ],
  };

  beforeEach(async () => {
    plugins = await FakePluginDir.create(['alpha', 'beta', 'gamma', 'loopback', 'bridge', 'host-local', 'portmap']);
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-mgr-'));
    await fs.mkdir(path.join(root, 'net.d'));
    netns = path.join(root, 'netns-file'); // fakes never enter it; it only has to exist
    await fs.writeFile(netns, '');
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close();
    await plugins.cleanup();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function manager(extra: Partial<CniManagerOptions> = {}): Promise<CniManager> {
    const m = await CniManager.create(fakeCniOptions(root, path.join(root, 'net.d'), [path.join(root, 'nowhere'), plugins.dir], extra));
    managers.push(m);
    return m;
  }
  const writeConf = (name: string, value: unknown) => fs.writeFile(path.join(root, 'net.d', name), JSON.stringify(value));
  /** A manager reading `conf` (the test chain by default) from net.d/`file`. */
  async function chainManager(conf: unknown = chain, file = '10-test.conflist'): Promise<CniManager> {
    await writeConf(file, conf);
    return manager();
  }
  const pod = (over: Partial<PodNetworkRequest> = {}): PodNetworkRequest => ({
    id: 'pod0001',
    name: 'web',
    namespace: 'prod',
    uid: 'uid-1',
    netnsPath: netns,
    portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    ...over,
  });
  const cacheFile = (id: string) => path.join(root, 'cache', `${id}.json`);
  const exists = (p: string) => fs.stat(p).then(() => true, () => false);

  it('runs ADD in order with spec env, declared capabilities only, and prevResult chaining', async () => {
    const m = await chainManager();
    const result = await m.setUpPod(pod({ dns: { servers: ['10.96.0.10'], searches: [], options: [] } }));
    expect(result.ips).to.deep.equal(['10.99.2.2']); // gamma answered last
    expect(result.interfaceName).to.equal('eth0');
    expect(result.raw).to.deep.include({ addedBy: 'gamma' });

    const calls = await plugins.calls();
    expect(calls.map((c) => `${c.type} ${c.command}`)).to.deep.equal(['alpha ADD', 'beta ADD', 'gamma ADD']);
    for (const c of calls) {
      expect(c.env).to.deep.include({
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: 'pod0001',
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=pod0001;K8S_POD_UID=uid-1',
        CNI_PATH: `${path.join(root, 'nowhere')}:${plugins.dir}`,
      });
      expect(c.stdin).to.include({ name: 'testnet', cniVersion: '1.0.0' });
    }
    const [alpha, beta, gamma] = calls;
    expect(alpha!.stdin).to.not.have.property('runtimeConfig');
    expect(alpha!.stdin).to.not.have.property('prevResult');
    expect(alpha!.stdin).to.include({ mode: 'x' });
    expect(beta!.stdin.runtimeConfig).to.deep.equal({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    expect(beta!.stdin.prevResult).to.deep.include({ addedBy: 'alpha' });
    expect(gamma!.stdin.runtimeConfig).to.deep.equal({ dns: { servers: ['10.96.0.10'], searches: [], options: [] } });
    expect(gamma!.stdin.prevResult).to.deep.include({ addedBy: 'beta' });
  });

  it('caches the attachment and runs DEL in reverse with the cached result and runtimeConfig', async () => {
    const m = await chainManager();
    await m.setUpPod(pod());
    const cached = JSON.parse(await fs.readFile(cacheFile('pod0001'), 'utf8'));
    expect(cached).to.deep.include({ state: 'added', netnsPath: netns, ifName: 'eth0' });
    expect(cached.config.name).to.equal('testnet');
    expect(cached.result).to.deep.include({ addedBy: 'gamma' });
    await plugins.clearCalls();

    await m.tearDownPod(pod());
    const calls = await plugins.calls();
    expect(calls.map((c) => `${c.type} ${c.command}`)).to.deep.equal(['gamma DEL', 'beta DEL', 'alpha DEL']);
    for (const c of calls) {
      expect(c.stdin.prevResult).to.deep.include({ addedBy: 'gamma' });
      expect(c.env.CNI_NETNS).to.equal(netns);
    }
    expect(calls[1]!.stdin.runtimeConfig).to.deep.equal({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    expect(await exists(cacheFile('pod0001'))).to.equal(false);
  });

  it('tears down with the cached config after a restart even when the config dir changed', async () => {
    await writeConf('10-test.conflist', chain);
    const first = await manager();
    await first.setUpPod(pod());
    await first.close();
    await fs.rm(path.join(root, 'net.d', '10-test.conflist'));
    await writeConf('20-other.conflist', { cniVersion: '1.0.0', name: 'other', plugins: [{ type: 'bridge' }] });
    await plugins.clearCalls();

    const second = await manager();
    expect(second.status().networkName).to.equal('other');
    await second.tearDownPod(pod());
    expect((await plugins.calls()).map((c) => `${c.type} ${c.command} ${c.stdin.name}`)).to.deep.equal([
      'gamma DEL testnet',
      'beta DEL testnet',
      'alpha DEL testnet',
    ]);
  });

  it('is idempotent: DEL without a cache does nothing and succeeds', async () => {
    const m = await chainManager();
    await m.setUpPod(pod());
    await m.tearDownPod(pod());
    await plugins.clearCalls();
    await m.tearDownPod(pod());
    await m.tearDownPod(pod({ id: 'neverseen' }));
    expect(await plugins.calls()).to.deep.equal([]);
  });

  it('runs DEL with an empty CNI_NETNS when the namespace is gone', async () => {
    const m = await chainManager();
    await m.setUpPod(pod());
    await fs.rm(netns);
    await plugins.clearCalls();
    await m.tearDownPod(pod());
    const calls = await plugins.calls();
    expect(calls).to.have.length(3);
    for (const c of calls) expect(c.env.CNI_NETNS ?? '').to.equal('');
    expect(await exists(cacheFile('pod0001'))).to.equal(false);
  });

  it('retries DEL without CNI_NETNS when the pinned path no longer holds a namespace', async () => {
    const m = await chainManager();
    await m.setUpPod(pod());
    // The fake netns is a plain file, like an unmounted pin; beta refuses it like real plugins do.
    await plugins.respond('beta', 'DEL', { stdout: '{"code":999,"msg":"not a network namespace"}', exitCode: 1, onlyWithNetns: true });
    await plugins.clearCalls();
    await m.tearDownPod(pod());
    const calls = (await plugins.calls()).map((c) => `${c.type} ${c.command} ${c.env.CNI_NETNS ? 'netns' : 'none'}`);
    expect(calls).to.deep.equal([
      'gamma DEL netns',
      'beta DEL netns',
      'gamma DEL none',
      'beta DEL none',
      'alpha DEL none',
    ]);
    expect(await exists(cacheFile('pod0001'))).to.equal(false);
  });

  it('treats DEL error code 3 (container unknown) as done, and stops the list at another DEL error', async () => {
    const m = await chainManager();
    // A path that really is a network namespace: then a DEL failure is final, no retry without it.
    const realNs = pod({ netnsPath: '/proc/self/ns/net' });
    await m.setUpPod(realNs);
    await plugins.respond('gamma', 'DEL', { stdout: '{"code":3,"msg":"no such container"}', exitCode: 1 });
    await plugins.respond('beta', 'DEL', { stdout: '{"code":5,"msg":"iptables locked"}', exitCode: 1 });
    await plugins.clearCalls();
    const err = await m.tearDownPod(realNs).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).to.equal('tear down network of pod pod0001');
    expect((err?.cause as Error).message).to.equal('delete network testnet (plugin beta)');
    expect(String((err?.cause as Error).cause)).to.match(/beta DEL: code 5: iptables locked/);
    expect(errorKindOf(err)).to.equal('Internal');
    expect((await plugins.calls()).map((c) => c.type)).to.deep.equal(['gamma', 'beta']);
    expect(await exists(cacheFile('pod0001'))).to.equal(true); // kept so a retry can finish the job
  });

  it('rolls back a failed ADD with DEL of the whole chain and forgets the pod', async () => {
    const m = await chainManager();
    await plugins.respond('beta', 'ADD', { stdout: '{"cniVersion":"1.0.0","code":11,"msg":"ports busy","details":"8080"}', exitCode: 1 });
    const err = await m.setUpPod(pod()).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).to.equal('set up network of pod pod0001');
    expect(errorKindOf(err)).to.equal('Unavailable');
    const calls = await plugins.calls();
    expect(calls.map((c) => `${c.type} ${c.command}`)).to.deep.equal(['alpha ADD', 'beta ADD', 'gamma DEL', 'beta DEL', 'alpha DEL']);
    expect(calls[2]!.stdin.prevResult).to.deep.include({ addedBy: 'alpha' });
    expect(await exists(cacheFile('pod0001'))).to.equal(false);
  });

  it('fails with FailedPrecondition when a plugin binary vanished, keeping the cache for a later DEL', async () => {
    const m = await chainManager();
    await fs.rm(path.join(plugins.dir, 'beta'));
    const realNs = pod({ netnsPath: '/proc/self/ns/net' }); // a real netns: no retry without it
    const err = await m.setUpPod(realNs).then(() => undefined, (e: unknown) => e as Error);
    expect(errorKindOf(err)).to.equal('FailedPrecondition');
    expect(err?.message).to.match(/rollback failed: .*no executable "beta"/);
    expect((await plugins.calls()).map((c) => `${c.type} ${c.command}`)).to.deep.equal(['alpha ADD', 'gamma DEL']);
    expect(await m.attachedPodIds()).to.deep.equal(['pod0001']);

    await plugins.add('beta');
    await m.tearDownPod(realNs);
    expect(await m.attachedPodIds()).to.deep.equal([]);
  });

  it('kills a plugin that exceeds the timeout and reports DeadlineExceeded', async () => {
    await writeConf('10-test.conflist', chain);
    const m = await manager({ pluginTimeoutMs: 300 });
    await plugins.respond('alpha', 'ADD', { sleepSeconds: 5 });
    const started = Date.now();
    const err = await m.setUpPod(pod()).then(() => undefined, (e: unknown) => e as Error);
    expect(Date.now() - started).to.be.lessThan(3000);
    expect(errorKindOf(err)).to.equal('DeadlineExceeded');
    expect(String((err?.cause as Error).cause)).to.match(/timed out after 300 ms/);
  });

  it('runs CHECK in order with the cached result, and refuses pods without an attachment', async () => {
    const m = await chainManager();
    await m.setUpPod(pod());
    await plugins.clearCalls();
    await m.checkPod(pod());
    const calls = await plugins.calls();
    expect(calls.map((c) => `${c.type} ${c.command}`)).to.deep.equal(['alpha CHECK', 'beta CHECK', 'gamma CHECK']);
    for (const c of calls) expect(c.stdin.prevResult).to.deep.include({ addedBy: 'gamma' });
    const err = await m.checkPod(pod({ id: 'other' })).then(() => undefined, (e: unknown) => e);
    expect(errorKindOf(err)).to.equal('NotFound');
  });

  it('skips CHECK for 0.3.x lists and passes no prevResult to their DEL', async () => {
    const m = await chainManager({ ...chain, cniVersion: '0.3.1' }, '10-old.conflist');
    await m.setUpPod(pod());
    await plugins.clearCalls();
    await m.checkPod(pod());
    await m.tearDownPod(pod());
    const calls = await plugins.calls();
    expect(calls.map((c) => c.command)).to.deep.equal(['DEL', 'DEL', 'DEL']);
    for (const c of calls) expect(c.stdin).to.not.have.property('prevResult');
  });

  it('brings lo up with the loopback plugin next to the chain', async () => {
    await writeConf('10-test.conflist', chain);
    const m = await manager({ loopback: true });
    const result = await m.setUpPod(pod());
    const lo = (await plugins.calls()).filter((c) => c.type === 'loopback');
    expect(lo).to.have.length(1);
    expect(lo[0]!.env).to.include({ CNI_COMMAND: 'ADD', CNI_IFNAME: 'lo', CNI_NETNS: netns });
    expect(result.timingsMs).to.have.property('loopback');
  });

  it('runs no loopback plugin when the pod says lo is up already', async () => {
    await writeConf('10-test.conflist', chain);
    const m = await manager({ loopback: true });
    const result = await m.setUpPod(pod({ loopbackUp: true }));
    expect((await plugins.calls()).map((c) => c.type)).to.not.include('loopback');
    expect(result.timingsMs).to.not.have.property('loopback');
  });

  it('uses the embedded default trimmed to what the pod needs', async () => {
    const m = await manager();
    expect(m.status()).to.deep.equal({ ready: true, networkName: 'berthdef' });
    expect(m.currentNetwork()?.config.plugins.map((p) => p.type)).to.deep.equal(['bridge', 'portmap']);
    await m.setUpPod(pod({ portMappings: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }] }));
    const calls = await plugins.calls();
    expect(calls.map((c) => `${c.type} ${c.command}`)).to.deep.equal(['bridge ADD']);
    expect(calls[0]!.stdin).to.deep.include({ name: 'berthdef', bridge: 'bdef0', isGateway: true });

    await m.setUpPod(pod({ id: 'withport' }));
    await m.tearDownPod(pod({ id: 'withport' }));
    expect((await plugins.calls()).slice(1).map((c) => `${c.type} ${c.command}`)).to.deep.equal([
      'bridge ADD',
      'portmap ADD',
      'portmap DEL',
      'bridge DEL',
    ]);
  });

  it('refuses unsafe pod ids and bad ports', async () => {
    const m = await manager();
    for (const bad of [pod({ id: '../etc' }), pod({ netnsPath: '' }), pod({ portMappings: [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }] }), pod({ portMappings: [{ hostPort: 80, containerPort: 0, protocol: 'tcp' }] })]) {
      const err = await m.setUpPod(bad).then(() => undefined, (e: unknown) => e);
      expect(errorKindOf(err)).to.equal('InvalidArgument');
    }
  });

  it('cleans up after a crash mid-ADD: an "adding" record still gets DEL, without prevResult', async () => {
    const m = await chainManager();
    await fs.mkdir(path.join(root, 'cache'), { recursive: true });
    const record = {
      version: 1,
      podId: 'crashed1',
      state: 'adding',
      source: 'x',
      config: chain,
      ifName: 'eth0',
      netnsPath: netns,
      cniArgs: 'IgnoreUnknown=1',
      runtimeConfig: {},
    };
    await fs.writeFile(cacheFile('crashed1'), JSON.stringify(record));
    expect(await m.attachedPodIds()).to.deep.equal(['crashed1']);
    await m.tearDownPod(pod({ id: 'crashed1' }));
    const calls = await plugins.calls();
    expect(calls.map((c) => `${c.type} ${c.command}`)).to.deep.equal(['gamma DEL', 'beta DEL', 'alpha DEL']);
    for (const c of calls) expect(c.stdin).to.not.have.property('prevResult');
    expect(await m.attachedPodIds()).to.deep.equal([]);
  });

  it('deletes a stale attachment before adding the same pod again', async () => {
    const m = await chainManager();
    await m.setUpPod(pod());
    await plugins.clearCalls();
    await m.setUpPod(pod());
    expect((await plugins.calls()).map((c) => `${c.type} ${c.command}`)).to.deep.equal([
      'gamma DEL',
      'beta DEL',
      'alpha DEL',
      'alpha ADD',
      'beta ADD',
      'gamma ADD',
    ]);
  });

  it('reports every plugin call to the observer with its outcome', async () => {
    await writeConf('10-test.conflist', chain);
    const seen: string[] = [];
    const m = await manager({ pluginObserver: { observe: (plugin, command, seconds, ok) => seen.push(`${plugin} ${command} ${ok} ${seconds > 0}`) } });
    await plugins.respond('gamma', 'ADD', { exitCode: 1 });
    await m.setUpPod(pod()).catch(() => undefined);
    expect(seen).to.deep.equal([
      'alpha ADD true true',
      'beta ADD true true',
      'gamma ADD false true',
      'gamma DEL true true',
      'beta DEL true true',
      'alpha DEL true true',
    ]);
  });
});
