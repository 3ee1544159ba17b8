import { expect } from 'chai';
import { silentLogger } from '../../common/logger';
import type { CallContext } from '../handlers';
import { status } from './status';

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
