import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CniManager, CniManagerOptions } from './cni-manager';
import { FakePluginDir } from './testing/fake-plugin-dir';
import { fakeCniOptions } from './testing/cni-manager-fixtures';

/** Polls `probe` until it returns true or `ms` pass. */
async function eventually(probe: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('cni/CniManager status and config watching (fake plugins)', () => {
  let plugins: FakePluginDir;
  let root: string;
  const managers: CniManager[] = [];

  beforeEach(async () => {
    plugins = await FakePluginDir.create(['alpha', 'beta']);
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cni-status-'));
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close();
    await plugins.cleanup();
    await fs.rm(root, { recursive: true, force: true });
  });

  async function manager(configDir: string, extra: Partial<CniManagerOptions> = {}): Promise<CniManager> {
    const m = await CniManager.create(fakeCniOptions(root, configDir, [plugins.dir], extra));
    managers.push(m);
    return m;
  }
  const list = (name: string, cniVersion = '1.0.0') => JSON.stringify({ cniVersion, name, plugins: [{ type: 'alpha' }, { type: 'beta' }] });

  it('is not ready when neither a config nor the default plugins exist', async () => {
    const m = await manager(path.join(root, 'net.d'));
    const status = m.status();
    expect(status.ready).to.equal(false);
    expect(status.reason).to.equal('NetworkPluginNotReady');
    expect(status.message).to.match(/bridge, host-local/);
  });

  it('follows files appearing, changing and disappearing in the watched dir', async () => {
    const dir = path.join(root, 'net.d');
    await fs.mkdir(dir);
    const m = await manager(dir);
    expect(m.status().ready).to.equal(false);

    await fs.writeFile(path.join(dir, '50-one.conflist'), list('one'));
    await eventually(() => m.status().networkName === 'one');
    expect(m.status()).to.deep.equal({ ready: true, networkName: 'one' });
    expect(m.verboseInfo()).to.deep.equal({
      cniNetwork: 'one',
      cniConfigSource: path.join(dir, '50-one.conflist'),
      cniVersion: '1.0.0',
      cniPlugins: 'alpha,beta',
    });

    await fs.writeFile(path.join(dir, '10-two.conflist'), list('two'));
    await eventually(() => m.status().networkName === 'two');

    await fs.rm(path.join(dir, '10-two.conflist'));
    await eventually(() => m.status().networkName === 'one');

    await fs.writeFile(path.join(dir, '50-one.conflist'), '{broken');
    await eventually(() => !m.status().ready);
  });

  it('waits for a config dir that does not exist yet, and survives it being removed and recreated', async () => {
    const dir = path.join(root, 'later', 'net.d');
    const m = await manager(dir);
    expect(m.status().ready).to.equal(false);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, '10-late.conflist'), list('late'));
    await eventually(() => m.status().networkName === 'late');

    await fs.rm(dir, { recursive: true });
    await eventually(() => !m.status().ready);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, '10-again.conflist'), list('again'));
    await eventually(() => m.status().networkName === 'again');
  });

  it('asks 1.1.0 plugins for STATUS and reports their failure as not ready', async () => {
    const dir = path.join(root, 'net.d');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, '10-new.conflist'), list('new', '1.1.0'));
    await plugins.respond('beta', 'STATUS', { stdout: '{"cniVersion":"1.1.0","code":50,"msg":"no upstream"}', exitCode: 1 });
    const m = await manager(dir, { statusIntervalMs: 50 });
    const status = m.status();
    expect(status.ready).to.equal(false);
    expect(status.networkName).to.equal('new');
    expect(status.message).to.match(/beta STATUS: code 50: no upstream/);
    const statusCalls = (await plugins.calls()).filter((c) => c.command === 'STATUS');
    expect(statusCalls.length).to.be.greaterThanOrEqual(2);
    expect(statusCalls[0]!.env).to.not.have.property('CNI_CONTAINERID');
    expect(statusCalls[0]!.stdin).to.deep.include({ name: 'new', cniVersion: '1.1.0', type: 'alpha' });

    await fs.rm(path.join(plugins.root, 'answers', 'beta.STATUS.out'));
    await fs.rm(path.join(plugins.root, 'answers', 'beta.STATUS.exit'));
    await eventually(() => m.status().ready);
  });

  it('does not call STATUS for networks older than 1.1.0', async () => {
    const dir = path.join(root, 'net.d');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, '10-old.conflist'), list('old', '1.0.0'));
    const m = await manager(dir);
    expect(m.status().ready).to.equal(true);
    expect(await plugins.calls()).to.deep.equal([]);
  });
});
