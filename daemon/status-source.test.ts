import { expect } from 'chai';
import { defaultConfig } from './config-schema';
import { DaemonStatusSource } from './status-source';

describe('daemon/status-source', () => {
  it('reports NetworkPluginNotReady until a network provider is plugged in, then follows it', () => {
    const source = new DaemonStatusSource(defaultConfig(), '0.1.0');
    expect(source.networkReady()).to.include({ ready: false, reason: 'NetworkPluginNotReady' });
    let ready = false;
    source.setNetworkProvider({ status: () => (ready ? { ready: true, networkName: 'berth' } : { ready: false, message: 'no conflist' }) });
    expect(source.networkReady()).to.deep.equal({ ready: false, reason: 'NetworkPluginNotReady', message: 'no conflist' });
    ready = true;
    expect(source.networkReady()).to.deep.equal({ ready: true });
  });

  it('lists the default handler first, also under the empty name', () => {
    const config = { ...defaultConfig(), defaultRuntime: 'crun' };
    const source = new DaemonStatusSource(config, '0.1.0');
    expect(source.runtimeHandlers().map((h) => h.name)).to.deep.equal(['', 'crun', 'runc']);
    const info = source.verboseInfo();
    expect(JSON.parse(info.version)).to.equal('0.1.0');
    expect(JSON.parse(info.config).defaultRuntime).to.equal('crun');
  });

  it('reports each handler features as the container layer found them, the default one also under ""; nothing claimed without it', () => {
    const source = new DaemonStatusSource(defaultConfig(), '0.1.0');
    for (const h of source.runtimeHandlers()) expect(h.features, h.name).to.deep.equal({ recursiveReadOnlyMounts: false, userNamespaces: false });
    source.setHandlerFeatures(() => ({ runc: { recursiveReadOnlyMounts: true, userNamespaces: false }, crun: { recursiveReadOnlyMounts: false, userNamespaces: false } }));
    const byName = Object.fromEntries(source.runtimeHandlers().map((h) => [h.name, h.features.recursiveReadOnlyMounts]));
    expect(byName).to.deep.equal({ '': true, runc: true, crun: false });
  });

  it('hands out one frozen handler list while the features record is the same object, a new one when it changes', () => {
    const source = new DaemonStatusSource(defaultConfig(), '0.1.0');
    let features = Object.freeze({ runc: { recursiveReadOnlyMounts: true, userNamespaces: false } });
    source.setHandlerFeatures(() => features);
    const first = source.runtimeHandlers();
    expect(source.runtimeHandlers()).to.equal(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first[0].features)).to.equal(true);
    features = Object.freeze({ runc: { recursiveReadOnlyMounts: false, userNamespaces: false } });
    const next = source.runtimeHandlers();
    expect(next).not.to.equal(first);
    expect(next.find((h) => h.name === 'runc')?.features.recursiveReadOnlyMounts).to.equal(false);
  });
});
