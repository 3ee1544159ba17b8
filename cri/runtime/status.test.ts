import { expect } from 'chai';
import { silentLogger } from '../../common/logger';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { encodingOf } from '../pre-encoded';
import { wireOf } from '../testing/wire-fixtures';
import { status } from './status';
import { version } from './version';

const source = {
  networkReady: () => ({ ready: true }),
  runtimeHandlers: () => [{ name: 'runc' }],
  verboseInfo: () => ({ version: '"0.1.0"' }),
};
const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

describe('cri/runtime status: verbose info', () => {
  it('carries the extra entries of the layers (AppArmor) next to the daemon ones', async () => {
    const apparmor = { enabled: false, kernelEnabled: false, defaultProfile: 'berth-default', defaultProfileLoaded: false };
    const handler = status({ status: source, extraInfo: () => ({ apparmor: JSON.stringify(apparmor) }) });
    const res = await handler({ verbose: true }, call);
    expect(JSON.parse(res.info!.apparmor)).to.deep.equal(apparmor);
    expect(JSON.parse(res.info!.version)).to.equal('0.1.0');
    expect((await handler({}, call)).info).to.equal(undefined);
  });

  it('an extra entry cannot replace a daemon one', async () => {
    const res = await status({ status: source, extraInfo: () => ({ version: '"forged"' }) })({ verbose: true }, call);
    expect(JSON.parse(res.info!.version)).to.equal('0.1.0');
  });
});

describe('cri/runtime status: the kept answer', () => {
  const v1 = runtime.v1;

  it('is sent as its stored encoding, byte for byte what the codec writes, and cannot be changed', async () => {
    const handler = status({ status: source, features: { supplementalGroupsPolicy: true } });
    const first = await handler({}, call);
    expect(await handler({}, call)).to.equal(first);
    expect(Buffer.from(encodingOf(first)!)).to.deep.equal(Buffer.from(v1.StatusResponse.encode(first).finish()));
    expect(Buffer.from(wireOf('Status', first))).to.deep.equal(Buffer.from(v1.StatusResponse.encode(first).finish()));
    expect(() => first.status!.conditions!.push({ type: 'Forged', status: true })).to.throw(TypeError);
    expect(first.features).to.deep.include({ supplementalGroupsPolicy: true });
  });

  it('shows a change of network readiness or of a handler feature in the very next answer', async () => {
    let network: { ready: boolean; reason?: string; message?: string } = { ready: false, reason: 'NoCniConfig', message: 'no network config' };
    let rro = false;
    const handler = status({
      status: { ...source, networkReady: () => network, runtimeHandlers: () => [{ name: 'runc', features: { recursiveReadOnlyMounts: rro, userNamespaces: true } }] },
    });
    const netCondition = async () => (await handler({}, call)).status!.conditions!.find((c) => c.type === 'NetworkReady');
    expect(await netCondition()).to.deep.include({ status: false, reason: 'NoCniConfig', message: 'no network config' });
    network = { ready: false, reason: 'NoCniConfig', message: 'bridge plugin missing' };
    expect(await netCondition()).to.deep.include({ message: 'bridge plugin missing' });
    network = { ready: true };
    expect((await netCondition())!.status).to.equal(true);
    expect((await handler({}, call)).runtimeHandlers![0].features).to.deep.equal({ recursiveReadOnlyMounts: false, userNamespaces: true });
    rro = true;
    const answer = await handler({}, call);
    expect(answer.runtimeHandlers![0].features).to.deep.equal({ recursiveReadOnlyMounts: true, userNamespaces: true });
    expect(v1.StatusResponse.decode(encodingOf(answer)!).runtimeHandlers[0].features!.recursiveReadOnlyMounts).to.equal(true);
  });
});

describe('cri/runtime version', () => {
  it('answers one frozen message whose stored encoding is what the codec writes', async () => {
    const handler = version({ runtimeVersion: '1.2.3' });
    const answer = await handler({ version: 'v1' }, call);
    expect(await handler({}, call)).to.equal(answer);
    expect(answer).to.deep.equal({ version: '0.1.0', runtimeName: 'berth', runtimeVersion: '1.2.3', runtimeApiVersion: 'v1' });
    expect(Object.isFrozen(answer)).to.equal(true);
    expect(Buffer.from(encodingOf(answer)!)).to.deep.equal(Buffer.from(runtime.v1.VersionResponse.encode(answer).finish()));
  });
});
