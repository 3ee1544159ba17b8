/**
 * berthd as a process: the socket appears with mode 0660, the info RPCs answer, SIGTERM removes
 * the socket and exits 0, and two instances with different flags run side by side.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runtime } from '../../cri/api/generated/cri';
import { runBerthd, startBerthd, type BerthdInstance } from './support/berthd';
import { waitFor } from './support/wait';

describe('e2e: berthd lifecycle', function () {
  this.timeout(60000);
  const instances: BerthdInstance[] = [];
  const start = async (...args: Parameters<typeof startBerthd>) => {
    const d = await startBerthd(...args);
    instances.push(d);
    return d;
  };
  afterEach(async () => {
    await Promise.all(instances.splice(0).map((d) => d.cleanup()));
  });

  it('creates the socket with mode 0660 and the root and run-root directories', async () => {
    const d = await start();
    const st = fs.lstatSync(d.socketPath);
    expect(st.isSocket()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o660);
    expect(fs.statSync(d.root).isDirectory()).to.equal(true);
    expect(fs.statSync(d.runRoot).isDirectory()).to.equal(true);
    expect(d.readyRecord).to.include({ socket: d.socketPath, root: d.root, runRoot: d.runRoot });
    expect(d.readyRecord.readyMs).to.be.a('number');
  });

  it('answers Version, Status and RuntimeConfig over the socket', async () => {
    const d = await start({ configToml: '[runtime]\ndefault_runtime = "crun"\n' });
    const client = d.client();
    const version = await client.version({ version: 'v1' });
    expect(version.runtimeName).to.equal('berth');
    expect(version.runtimeApiVersion).to.equal('v1');
    expect(version.runtimeVersion).to.match(/^\d+\.\d+\.\d+/);

    const status = await client.status({ verbose: true });
    const conditions = status.status?.conditions ?? [];
    expect(conditions.find((c) => c.type === 'RuntimeReady')?.status).to.equal(true);
    const network = conditions.find((c) => c.type === 'NetworkReady');
    expect(network?.status, 'the embedded default network is ready').to.equal(true);
    expect((status.runtimeHandlers ?? []).map((h) => h.name)).to.deep.equal(['', 'crun', 'runc']);
    // Linux >= 5.12 with runc 1.1 / crun 1.4 here: both handlers can do recursive read-only mounts.
    for (const h of status.runtimeHandlers ?? []) expect(h.features?.recursiveReadOnlyMounts, `handler ${JSON.stringify(h.name)}`).to.equal(true);
    expect(status.features?.supplementalGroupsPolicy).to.equal(true);
    expect(JSON.parse(status.info?.config ?? '{}').defaultRuntime).to.equal('crun');

    const rc = await client.runtimeConfig({});
    expect(rc.linux?.cgroupDriver).to.equal(runtime.v1.CgroupDriver.CGROUPFS);
  });

  it('on SIGTERM finishes, removes the socket and exits 0', async () => {
    const d = await start();
    await d.client().version({});
    const exit = await d.stop('SIGTERM');
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(fs.existsSync(d.socketPath)).to.equal(false);
    expect(d.logLines.some((l) => l.includes('"msg":"berthd stopped"'))).to.equal(true);
  });

  it('reports NetworkReady false with a reason when no CNI plugin can be found', async () => {
    const emptyPluginDir = fs.mkdtempSync('/tmp/berth-no-plugins-');
    try {
      const d = await start({ extraArgs: ['--cni-plugin-dirs', emptyPluginDir] });
      const status = await d.client().status({});
      const network = (status.status?.conditions ?? []).find((c) => c.type === 'NetworkReady');
      expect(network?.status).to.equal(false);
      expect(network?.reason).to.equal('NetworkPluginNotReady');
      expect(network?.message).to.match(/bridge/);
    } finally {
      fs.rmSync(emptyPluginDir, { recursive: true, force: true });
    }
  });

  it('on SIGINT exits 0 too, and ignores SIGHUP', async () => {
    const d = await start();
    process.kill(d.pid, 'SIGHUP');
    await waitFor(() => d.logLines.some((l) => l.includes('SIGHUP')), 'the SIGHUP log line', 5000);
    expect((await d.client().version({})).runtimeName).to.equal('berth');
    expect(await d.stop('SIGINT')).to.deep.equal({ code: 0, signal: null });
    expect(fs.existsSync(d.socketPath)).to.equal(false);
  });

  it('runs two instances side by side with their own socket, root, run-root and metrics port', async () => {
    const [a, b] = await Promise.all([start({ name: 'berth-e2e-a' }), start({ name: 'berth-e2e-b' })]);
    expect(a.socketPath).not.to.equal(b.socketPath);
    expect(a.metricsAddress).to.be.a('string');
    expect(a.metricsAddress).not.to.equal(b.metricsAddress);
    const [va, vb] = await Promise.all([a.client().version({}), b.client().version({})]);
    expect(va.runtimeName).to.equal('berth');
    expect(vb.runtimeName).to.equal('berth');
    expect(await a.stop()).to.deep.equal({ code: 0, signal: null });
    // b keeps serving after a is gone
    expect((await b.client().version({})).runtimeName).to.equal('berth');
    expect(fs.lstatSync(b.socketPath).isSocket()).to.equal(true);
  });

  it('refuses to take over a socket another berthd is serving', async () => {
    const a = await start();
    let failed: Error | undefined;
    try {
      await start({ extraArgs: ['--listen', a.socketPath] });
    } catch (err) {
      failed = err as Error;
    }
    expect(failed?.message).to.contain('exited before ready');
    expect(failed?.message).to.contain('another process is already serving this socket');
    expect((await a.client().version({})).runtimeName).to.equal('berth');
  });

  describe('without a usable native addon', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-no-addon-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Runs berthd (serve) with the addon looked up in `buildDir`; the state paths are under `dir`. */
    const serveWith = (buildDir: string) =>
      runBerthd(['--listen', path.join(dir, 'berth.sock'), '--root', path.join(dir, 'root'), '--run-root', path.join(dir, 'run')], { env: { BERTH_NATIVE_BUILD_DIR: buildDir } });

    it('exits 1 at start naming the missing addon file, before it creates anything', async () => {
      const build = path.join(dir, 'build');
      const run = await serveWith(build);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain(`berthd: native addon ${path.join(build, 'berth_native.node')}: file does not exist; rebuild with npm run build:native`);
      expect(fs.existsSync(path.join(dir, 'root'))).to.equal(false);
      expect(fs.existsSync(path.join(dir, 'berth.sock'))).to.equal(false);
    });

    it('exits 1 at start when the addon file does not load (a broken build)', async () => {
      const build = path.join(dir, 'build');
      fs.mkdirSync(build);
      fs.writeFileSync(path.join(build, 'berth_native.node'), 'not an ELF object\n'.repeat(256)); // big enough for dlopen to read a header
      const run = await serveWith(build);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/berthd: native addon \S+berth_native\.node: cannot load \(.*invalid ELF header.*\); rebuild with npm run build:native/);
      expect(fs.existsSync(path.join(dir, 'root'))).to.equal(false);
    });
  });
});
