import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../common/logger';
import type { CriHandlers } from '../cri/handlers';
import { createCriClient, isServiceError, type CriClient } from '../test/support/cri-client';
import { defaultConfig, type BerthConfig } from './config-schema';
import { derivedPaths } from './derived-paths';
import { mergeHandlers, startDaemon, type RunningDaemon } from './wiring';

describe('daemon/wiring (in-process)', () => {
  let dir: string;
  let config: BerthConfig;
  let daemon: RunningDaemon | undefined;
  let client: CriClient | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-wiring-test-'));
    config = { ...defaultConfig(), listen: path.join(dir, 'berth.sock'), root: path.join(dir, 'root'), runRoot: path.join(dir, 'run'), metricsListen: '127.0.0.1:0' };
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    await daemon?.stop(0);
    daemon = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a method registered twice', () => {
    const h: CriHandlers = { Version: async () => ({}) };
    expect(() => mergeHandlers(h, h)).to.throw('Version is registered twice');
  });

  it('serves the info handlers plus layer handlers, with the network provider in Status', async () => {
    let closed = 0;
    daemon = await startDaemon(config, silentLogger, '9.9.9', {
      handlers: [{ ListPodSandbox: async () => ({ items: [{ id: 'pod-1' }] }) }],
      network: { status: () => ({ ready: true }) },
      close: async () => {
        closed++;
      },
    });
    client = createCriClient(config.listen);
    expect((await client.version({})).runtimeVersion).to.equal('9.9.9');
    expect((await client.listPodSandbox({})).items?.[0]?.id).to.equal('pod-1');
    const conditions = (await client.status({})).status?.conditions ?? [];
    expect(conditions.find((c) => c.type === 'NetworkReady')?.status).to.equal(true);
    expect(daemon.metricsAddress).to.match(/^127\.0\.0\.1:\d+$/);
    await daemon.stop(1000);
    daemon = undefined;
    expect(closed).to.equal(1);
    expect(fs.existsSync(config.listen)).to.equal(false);
  });

  it('lets an in-flight RPC finish on stop, then refuses new ones', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    daemon = await startDaemon({ ...config, metricsListen: '' }, silentLogger, '1.0.0', {
      handlers: [
        {
          ListContainers: async () => {
            entered();
            await gate;
            return { containers: [{ id: 'c-1' }] };
          },
        },
      ],
    });
    expect(daemon.metricsAddress).to.equal(undefined);
    client = createCriClient(config.listen);
    const slow = client.listContainers({});
    await inHandler;
    const stopping = daemon.stop(5000);
    setTimeout(release, 200);
    const res = await slow;
    expect(res.containers?.[0]?.id).to.equal('c-1');
    await stopping;
    daemon = undefined;
    const after = await client.version({}, { timeoutMs: 1000 }).then(
      () => 'answered',
      (err: unknown) => (isServiceError(err) ? 'refused' : String(err)),
    );
    expect(after).to.equal('refused');
  });

  it('fails to start on a busy metrics port and leaves no socket behind', async () => {
    const first = await startDaemon({ ...config, metricsListen: '127.0.0.1:0' }, silentLogger, '1');
    daemon = first;
    const second = { ...config, listen: path.join(dir, 'second.sock'), metricsListen: first.metricsAddress! };
    let error: unknown;
    await startDaemon(second, silentLogger, '1').catch((err: unknown) => (error = err));
    expect(String((error as Error)?.message)).to.contain(`listen for metrics on ${first.metricsAddress}`);
    expect(fs.existsSync(second.listen)).to.equal(false);
  });

  it('derives the documented default paths', () => {
    const d = derivedPaths({ ...defaultConfig(), runtimes: { runc: { path: '/usr/sbin/runc' }, kata: { path: '/k', root: '/run/kata' } } });
    expect(d.cniCacheDir).to.equal('/var/lib/berth/cni/results');
    expect(d.runtimeRoots).to.deep.equal({ runc: '/run/berth/runtimes/runc', kata: '/run/kata' });
    expect(derivedPaths({ ...defaultConfig(), cniCacheDir: '/c' }).cniCacheDir).to.equal('/c');
  });
});
