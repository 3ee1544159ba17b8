/**
 * CniManager following an operator's conflist in a watched config dir, with the real bridge
 * (per-pod ipMasq), host-local and portmap plugins, and pods set up concurrently.
 */
import { expect } from 'chai';
import { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { CniManager } from '../../cni/cni-manager';
import { removeMasquerade } from '../../cni/masquerade';
import { PodNetworkRequest } from '../../cni/types';
import { fetchTcp, iptablesLinesWith, removeIptablesMentioning, removeNetnsAndLink, run, startServerInNetns, uniqueNames } from './cni-support';

async function eventually(probe: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('e2e: CNI network from the config dir with real plugins', function () {
  this.timeout(60_000);
  const def = uniqueNames();
  const op = uniqueNames();
  const netnsNames: string[] = [];
  const servers: ChildProcess[] = [];
  let tmp: string;
  let configDir: string;
  let manager: CniManager;

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('the CNI e2e tests need root');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-e2e-conf-'));
    configDir = path.join(tmp, 'net.d');
    await fs.mkdir(configDir);
    manager = await CniManager.create({
      configDir,
      pluginDirs: ['/usr/lib/cni'],
      cacheDir: path.join(tmp, 'cache'),
      defaultNetwork: { name: def.network, bridge: def.bridge, subnet: def.subnet, ipamDataDir: path.join(tmp, 'ipam-default') },
      logger: silentLogger,
      watchDebounceMs: 50,
    });
  });

  after(async () => {
    await manager?.close();
    for (const s of servers) s.kill('SIGKILL');
    await removeNetnsAndLink(netnsNames, op.bridge);
    await removeNetnsAndLink([], def.bridge);
    await removeIptablesMentioning([op.network, def.network, op.bridge]);
    await removeMasquerade(def.network, def.subnet);
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('installs the default network masquerade rule once for concurrent first pods', async () => {
    const pods: PodNetworkRequest[] = [];
    for (let i = 0; i < 3; i++) {
      const ns = `${def.netnsPrefix}-${i}`;
      await run('ip', ['netns', 'add', ns]);
      netnsNames.push(ns);
      pods.push({ id: `defpod${i}`, name: `d${i}`, namespace: 'e2e', uid: `d${i}`, netnsPath: `/run/netns/${ns}`, portMappings: [] });
    }
    const results = await Promise.all(pods.map((p) => manager.setUpPod(p)));
    expect(new Set(results.map((r) => r.ips[0])).size).to.equal(3);
    expect(await iptablesLinesWith(`berth network ${def.network} masquerade`)).to.have.length(1);
    await Promise.all(pods.map((p) => manager.tearDownPod(p)));
    expect(await manager.attachedPodIds()).to.deep.equal([]);
  });

  it('switches to a conflist dropped into the dir, serves concurrent pods, and switches back when it is removed', async () => {
    expect(manager.status().networkName).to.equal(def.network);
    const conflist = {
      cniVersion: '1.0.0',
      name: op.network,
      plugins: [
        {
          type: 'bridge',
          bridge: op.bridge,
          isGateway: true,
          ipMasq: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: op.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(tmp, 'ipam-op') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    };
    await fs.writeFile(path.join(configDir, '10-operator.conflist'), JSON.stringify(conflist));
    await eventually(() => manager.status().networkName === op.network);

    const pods: PodNetworkRequest[] = [];
    const podNetns: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ns = `${op.netnsPrefix}-${i}`;
      await run('ip', ['netns', 'add', ns]);
      netnsNames.push(ns);
      podNetns.push(ns);
      pods.push({ id: `confpod${i}`, name: `p${i}`, namespace: 'e2e', uid: `u${i}`, netnsPath: `/run/netns/${ns}`, portMappings: [] });
    }
    const results = await Promise.all(pods.map((p) => manager.setUpPod(p)));
    const ips = results.map((r) => r.ips[0]!);
    expect(new Set(ips).size).to.equal(4);
    for (const ip of ips) expect(ip.startsWith(op.prefix3)).to.equal(true, `${ip} not in ${op.subnet}`);

    servers.push(await startServerInNetns(podNetns[2]!, 9000));
    expect(await fetchTcp(ips[2]!, 9000)).to.equal('hello\n');
    // Pod-to-pod over the bridge.
    const fromPod0 = await run('ip', ['netns', 'exec', podNetns[0]!, process.execPath, '-e',
      `require('net').connect(9000,'${ips[2]}').on('data',d=>process.stdout.write(d))`]);
    expect(fromPod0).to.equal('hello\n');
    // The bridge plugin's per-pod masquerade chain exists while the pod runs.
    expect(await iptablesLinesWith(`name: \\"${op.network}\\" id: \\"confpod1\\"`)).to.not.deep.equal([]);

    await Promise.all(pods.map((p) => manager.tearDownPod(p)));
    for (const p of pods) expect(await iptablesLinesWith(`id: \\"${p.id}\\"`)).to.deep.equal([]);
    const left = await fs.readdir(path.join(tmp, 'ipam-op', op.network));
    expect(left.filter((f) => f.startsWith(op.prefix3))).to.deep.equal([]);
    expect(await manager.attachedPodIds()).to.deep.equal([]);

    await fs.rm(path.join(configDir, '10-operator.conflist'));
    await eventually(() => manager.status().networkName === def.network);
  });
});
