import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../common/logger';
import { EMBEDDED_DEFAULT_SOURCE, loadNetwork, logLoadOutcome } from './config-loader';
import { FakePluginDir } from './testing/fake-plugin-dir';

describe('cni/config-loader', () => {
  let plugins: FakePluginDir;
  let configDir: string;
  const defaultNetwork = { name: 'berth', bridge: 'berth0', subnet: '10.85.0.0/16', ipamDataDir: '/var/lib/berth/cni/ipam' };

  beforeEach(async () => {
    plugins = await FakePluginDir.create(['bridge', 'host-local', 'portmap', 'bandwidth', 'firewall', 'ptp']);
    configDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-conf-'));
  });
  afterEach(async () => {
    await plugins.cleanup();
    await fs.rm(configDir, { recursive: true, force: true });
  });

  const write = (name: string, value: unknown) =>
    fs.writeFile(path.join(configDir, name), typeof value === 'string' ? value : JSON.stringify(value));
  const load = () => loadNetwork({ configDir, pluginDirs: [plugins.dir], defaultNetwork });

  it('picks the lexically first valid file across .conflist, .conf and .json', async () => {
    await write('20-b.conflist', { cniVersion: '1.0.0', name: 'b', plugins: [{ type: 'bridge' }] });
    await write('10-a.json', { cniVersion: '0.4.0', name: 'a', plugins: [{ type: 'ptp' }] });
    await write('30-c.conf', { cniVersion: '1.0.0', name: 'c', type: 'bridge' });
    await write('05-ignored.txt', { cniVersion: '1.0.0', name: 'txt', type: 'bridge' });
    const outcome = await load();
    expect(outcome.network?.source).to.equal(path.join(configDir, '10-a.json'));
    expect(outcome.network?.config.name).to.equal('a');
    expect(outcome.skipped).to.deep.equal([]);
  });

  it('skips invalid files with a reason each and uses the next valid one', async () => {
    await write('01-badjson.conflist', '{ nope');
    await write('02-version.conflist', { cniVersion: '0.2.0', name: 'v', plugins: [{ type: 'bridge' }] });
    await write('03-noname.conflist', { cniVersion: '1.0.0', plugins: [{ type: 'bridge' }] });
    await write('04-notype.conflist', { cniVersion: '1.0.0', name: 'n', plugins: [{ bridge: 'x' }] });
    await write('05-nobinary.conflist', { cniVersion: '1.0.0', name: 'm', plugins: [{ type: 'bridge' }, { type: 'macvlan' }] });
    await write('06-empty.conflist', { cniVersion: '1.0.0', name: 'e', plugins: [] });
    await write('07-good.conflist', { cniVersion: '1.1.0', name: 'good', plugins: [{ type: 'bridge' }] });
    const outcome = await load();
    expect(outcome.network?.config.name).to.equal('good');
    const reasons = outcome.skipped.map((s) => `${path.basename(s.file)}: ${s.reason}`);
    expect(reasons).to.have.length(6);
    expect(reasons[0]).to.match(/^01-badjson.conflist: not valid JSON/);
    expect(reasons[1]).to.match(/^02-version.conflist: cniVersion "0.2.0" is not supported/);
    expect(reasons[2]).to.match(/^03-noname.conflist: name undefined is missing/);
    expect(reasons[3]).to.match(/^04-notype.conflist: plugins\[0\] has no type/);
    expect(reasons[4]).to.match(/^05-nobinary.conflist: plugin binary "macvlan" not found/);
    expect(reasons[5]).to.match(/^06-empty.conflist: plugins must be a non-empty array/);

    const lines: string[] = [];
    logLoadOutcome(createLogger({ sink: (l) => lines.push(l) }), outcome, configDir);
    expect(lines.filter((l) => JSON.parse(l).level === 'warn')).to.have.length(6);
  });

  it('wraps a single-plugin .conf into a one-plugin list keeping its keys', async () => {
    await write('10-single.conf', { cniVersion: '0.3.1', name: 'single', type: 'bridge', bridge: 'cni9', ipam: { type: 'host-local' } });
    const outcome = await load();
    expect(outcome.network?.config).to.deep.equal({
      cniVersion: '0.3.1',
      name: 'single',
      plugins: [{ cniVersion: '0.3.1', name: 'single', type: 'bridge', bridge: 'cni9', ipam: { type: 'host-local' } }],
    });
  });

  it('keeps disableCheck from a list', async () => {
    await write('10.conflist', { cniVersion: '1.0.0', name: 'dc', disableCheck: true, plugins: [{ type: 'bridge' }] });
    expect((await load()).network?.config.disableCheck).to.equal(true);
  });

  it('falls back to the embedded default bridge network (own IPAM dir, portmap, bandwidth) and says so', async () => {
    await write('01-bad.conflist', '[]');
    const outcome = await load();
    expect(outcome.network?.source).to.equal(EMBEDDED_DEFAULT_SOURCE);
    const config = outcome.network!.config;
    expect(config.name).to.equal('berth');
    expect(config.plugins.map((p) => p.type)).to.deep.equal(['bridge', 'portmap', 'bandwidth']);
    const bridge = config.plugins[0]!;
    expect(bridge).to.include({ bridge: 'berth0', isGateway: true, hairpinMode: true });
    expect(bridge.ipam).to.deep.include({ type: 'host-local', dataDir: '/var/lib/berth/cni/ipam', ranges: [[{ subnet: '10.85.0.0/16' }]] });
    expect(config.plugins[1]).to.deep.include({ capabilities: { portMappings: true }, snat: true });
    expect(config.plugins[2]).to.deep.include({ capabilities: { bandwidth: true } });

    const lines: string[] = [];
    logLoadOutcome(createLogger({ sink: (l) => lines.push(l) }), outcome, configDir);
    expect(lines.some((l) => /using the embedded default/.test(JSON.parse(l).msg))).to.equal(true);
  });

  it('adds firewall to the default only when asked and installed', async () => {
    const outcome = await loadNetwork({ configDir, pluginDirs: [plugins.dir], defaultNetwork: { ...defaultNetwork, firewall: true } });
    expect(outcome.network!.config.plugins.map((p) => p.type)).to.deep.equal(['bridge', 'portmap', 'bandwidth', 'firewall']);
  });

  it('uses the default when the config dir does not exist', async () => {
    const outcome = await loadNetwork({ configDir: path.join(configDir, 'missing'), pluginDirs: [plugins.dir], defaultNetwork });
    expect(outcome.network?.source).to.equal(EMBEDDED_DEFAULT_SOURCE);
  });

  it('reports a problem when not even the default network has its plugins', async () => {
    const empty = await FakePluginDir.create(['portmap']);
    try {
      const outcome = await loadNetwork({ configDir, pluginDirs: [empty.dir], defaultNetwork });
      expect(outcome.network).to.equal(undefined);
      expect(outcome.problem).to.match(/bridge, host-local/);
    } finally {
      await empty.cleanup();
    }
  });
});
