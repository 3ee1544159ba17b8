/**
 * CniManager against the real plugins in /usr/lib/cni (Debian containernetworking-plugins),
 * as root, on berth's embedded default network with a unique bridge, subnet and IPAM dir.
 */
import { expect } from 'chai';
import { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { CniManager } from '../../cni/cni-manager';
import { masqueradeRuleArgs, removeMasquerade } from '../../cni/masquerade';
import { PodNetworkRequest } from '../../cni/types';
import {
  fetchTcp,
  iptablesLinesWith,
  removeIptablesMentioning,
  removeNetnsAndLink,
  run,
  startServerInNetns,
  uniqueNames,
} from './cni-support';

describe('e2e: CNI default network with real plugins', function () {
  this.timeout(60_000);
  const names = uniqueNames();
  const netnsNames: string[] = [];
  const servers: ChildProcess[] = [];
  let tmp: string;
  let manager: CniManager;

  async function newNetns(): Promise<string> {
    const ns = `${names.netnsPrefix}-${netnsNames.length}`;
    await run('ip', ['netns', 'add', ns]);
    netnsNames.push(ns);
    return ns;
  }
  const pod = (id: string, ns: string, over: Partial<PodNetworkRequest> = {}): PodNetworkRequest => ({
    id,
    name: `web-${id}`,
    namespace: 'e2e',
    uid: `uid-${id}`,
    netnsPath: `/run/netns/${ns}`,
    portMappings: [],
    ...over,
  });
  const ipamFile = (ip: string) => path.join(tmp, 'ipam', names.network, ip);
  const exists = (p: string) => fs.stat(p).then(() => true, () => false);

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('the CNI e2e tests need root');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-e2e-'));
    manager = await CniManager.create({
      configDir: path.join(tmp, 'net.d'),
      pluginDirs: ['/opt/cni/bin', '/usr/lib/cni'],
      cacheDir: path.join(tmp, 'cache'),
      defaultNetwork: { name: names.network, bridge: names.bridge, subnet: names.subnet, ipamDataDir: path.join(tmp, 'ipam') },
      logger: silentLogger,
    });
  });

  after(async () => {
    await manager?.close();
    for (const s of servers) s.kill('SIGKILL');
    await removeNetnsAndLink(netnsNames, names.bridge);
    await removeIptablesMentioning([names.network, names.bridge]);
    await removeMasquerade(names.network, names.subnet);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('reports the embedded default network as ready', () => {
    expect(manager.status()).to.deep.equal({ ready: true, networkName: names.network });
  });

  it('gives the pod a reachable IP and a hostPort on 127.0.0.1, and removes every trace on DEL', async () => {
    const ns = await newNetns();
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const p = pod('e2epod1', ns, { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }] });
    const result = await manager.setUpPod(p);
    expect(result.interfaceName).to.equal('eth0');
    expect(result.ips).to.have.length(1);
    const ip = result.ips[0]!;
    expect(ip.startsWith(names.prefix3)).to.equal(true, `${ip} not in ${names.subnet}`);

    // Inside the pod: eth0 has the IP, lo is up.
    const addrs = await run('ip', ['netns', 'exec', ns, 'ip', '-o', 'addr', 'show']);
    expect(addrs).to.match(new RegExp(`eth0\\s+inet ${ip.replace(/\./g, '\\.')}/24`));
    expect(await run('ip', ['netns', 'exec', ns, 'ip', '-o', 'link', 'show', 'lo'])).to.match(/<LOOPBACK,UP/);

    servers.push(await startServerInNetns(ns, 8080));
    expect(await fetchTcp(ip, 8080)).to.equal('hello\n');
    expect(await fetchTcp('127.0.0.1', hostPort)).to.equal('hello\n');

    expect(await exists(ipamFile(ip))).to.equal(true);
    expect(await iptablesLinesWith(`id: \\"${p.id}\\"`)).to.not.deep.equal([]);
    const masq = masqueradeRuleArgs(names.network, names.subnet);
    expect((await iptablesLinesWith(`berth network ${names.network} masquerade`)).length).to.equal(1, masq.join(' '));

    await manager.tearDownPod(p);
    expect(await exists(ipamFile(ip))).to.equal(false);
    expect(await iptablesLinesWith(`id: \\"${p.id}\\"`)).to.deep.equal([]);
    expect(await iptablesLinesWith(`:${hostPort}`)).to.deep.equal([]);
    expect(await run('ip', ['netns', 'exec', ns, 'ip', '-o', 'link', 'show'])).to.not.match(/eth0/);
    await fetchTcp('127.0.0.1', hostPort, 1000).then(
      (got) => expect(got).to.equal(''),
      (err: NodeJS.ErrnoException) => expect(err.code ?? err.message).to.match(/ECONNREFUSED|timed out/),
    );

    await manager.tearDownPod(p); // second DEL is a no-op
  });

  it('passes CHECK for a healthy pod and applies bandwidth limits', async () => {
    const ns = await newNetns();
    const p = pod('e2epod2', ns, { bandwidth: { ingressBps: 8_000_000, egressBps: 4_000_000 } });
    const result = await manager.setUpPod(p);
    const hostVeth = (result.raw as { interfaces: Array<{ name: string; sandbox?: string }> }).interfaces.find(
      (i) => !i.sandbox && i.name !== names.bridge,
    )!.name;
    expect(await run('tc', ['qdisc', 'show', 'dev', hostVeth])).to.match(/tbf/);
    await manager.checkPod(p);
    await manager.tearDownPod(p);
    expect(await exists(ipamFile(result.ips[0]!))).to.equal(false);
  });

  it('tears down a pod whose netns is already gone, releasing the IP and port rules', async () => {
    const ns = await newNetns();
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const p = pod('e2epod3', ns, { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] });
    const result = await manager.setUpPod(p);
    await run('ip', ['netns', 'del', ns]);
    await manager.tearDownPod(p);
    expect(await exists(ipamFile(result.ips[0]!))).to.equal(false);
    expect(await iptablesLinesWith(`id: \\"${p.id}\\"`)).to.deep.equal([]);
    await manager.tearDownPod(p);
  });

  it('tears down a pod whose pinned netns path is now a plain file (unmounted pin)', async () => {
    const ns = await newNetns();
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const p = pod('e2epod5', ns, { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] });
    const result = await manager.setUpPod(p);
    await run('ip', ['netns', 'del', ns]);
    await fs.writeFile(p.netnsPath, ''); // what an unmount without unlink leaves behind
    try {
      await manager.tearDownPod(p);
    } finally {
      await fs.rm(p.netnsPath, { force: true });
    }
    expect(await exists(ipamFile(result.ips[0]!))).to.equal(false);
    expect(await iptablesLinesWith(`id: \\"${p.id}\\"`)).to.deep.equal([]);
    expect(await manager.attachedPodIds()).to.not.include(p.id);
  });

  it('rolls back an ADD that fails midway without leaking the IP', async () => {
    const ns = await newNetns();
    // hostPort 0 would be refused by berth itself; an invalid protocol makes portmap fail after bridge succeeded.
    const p = pod('e2epod4', ns, { portMappings: [{ hostPort: 20001, containerPort: 80, protocol: 'bogus' as 'tcp' }] });
    const err = await manager.setUpPod(p).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).to.match(/set up network of pod e2epod4/);
    const allocated = (await fs.readdir(path.join(tmp, 'ipam', names.network)).catch(() => [] as string[])).filter((f) =>
      f.startsWith(names.prefix3),
    );
    expect(allocated).to.deep.equal([]);
    expect(await iptablesLinesWith(`id: \\"${p.id}\\"`)).to.deep.equal([]);
  });

  it('measures setUpPod and tearDownPod latency (median of 20)', async () => {
    const ns = await newNetns();
    const measure = async (withPort: boolean) => {
      const adds: number[] = [];
      const dels: number[] = [];
      const plugins: Record<string, number[]> = {};
      for (let i = 0; i < 20; i++) {
        const p = pod(`lat${withPort ? 'p' : 'n'}${i}`, ns, {
          portMappings: withPort ? [{ hostPort: 30000 + i, containerPort: 80, protocol: 'tcp' }] : [],
        });
        let t = process.hrtime.bigint();
        const r = await manager.setUpPod(p);
        adds.push(Number(process.hrtime.bigint() - t) / 1e6);
        for (const [k, v] of Object.entries(r.timingsMs)) (plugins[k] ??= []).push(v);
        t = process.hrtime.bigint();
        await manager.tearDownPod(p);
        dels.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      const perPlugin = Object.fromEntries(Object.entries(plugins).map(([k, v]) => [k, median(v)]));
      return { add: median(adds), del: median(dels), perPlugin };
    };
    const plain = await measure(false);
    const ported = await measure(true);
    console.log(`      setUpPod median ${plain.add} ms, tearDownPod median ${plain.del} ms (no hostPort)`, plain.perPlugin);
    console.log(`      setUpPod median ${ported.add} ms, tearDownPod median ${ported.del} ms (one hostPort)`, ported.perPlugin);
    // Generous bounds: this catches a regression to serial/blocking work, not VM noise.
    expect(plain.add).to.be.lessThan(1000);
    expect(plain.del).to.be.lessThan(1000);
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}
