import { expect } from 'chai';
import { errorKindOf } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import type { CallContext } from '../handlers';
import { updateRuntimeConfig } from './update-runtime-config';

const call = { signal: new AbortController().signal, logger: silentLogger } as CallContext;

describe('cri/runtime UpdateRuntimeConfig', () => {
  const handler = updateRuntimeConfig();

  it('accepts an empty request and single or dual-stack pod CIDRs', async () => {
    expect(await handler({}, call)).to.deep.equal({});
    expect(await handler({ runtimeConfig: { networkConfig: { podCidr: '10.244.1.0/24' } } }, call)).to.deep.equal({});
    expect(await handler({ runtimeConfig: { networkConfig: { podCidr: '10.244.1.0/24,fd00:10:244:1::/64' } } }, call)).to.deep.equal({});
  });

  for (const bad of ['10.244.1.0', '10.244.1.0/33', 'fd00::/129', 'ten/8', '10.244.1.0/24,']) {
    it(`refuses pod_cidr ${JSON.stringify(bad)} naming the field`, async () => {
      const err = await handler({ runtimeConfig: { networkConfig: { podCidr: bad } } }, call).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(errorKindOf(err)).to.equal('InvalidArgument');
      expect(String((err as Error).message)).to.contain('runtime_config.network_config.pod_cidr');
    });
  }
});
