import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { MAX_CDI_REQUESTS, cdiRequests } from './requests';

describe('runtime/cdi requests', () => {
  it('takes cdi_devices then cdi.k8s.io annotations (sorted by key), each device once', () => {
    const got = cdiRequests(['vendor.com/gpu=0', 'vendor.com/gpu=1'], {
      'cdi.k8s.io/z': 'example.com/net=eth1',
      'cdi.k8s.io/a': ' vendor.com/gpu=1 , example.com/fpga=f.0,',
      'other/annotation': 'not=a/cdi',
    });
    expect(got).to.deep.equal([
      { name: 'vendor.com/gpu=0', field: 'cdi_devices[0]' },
      { name: 'vendor.com/gpu=1', field: 'cdi_devices[1]' },
      { name: 'example.com/fpga=f.0', field: 'annotations["cdi.k8s.io/a"]' },
      { name: 'example.com/net=eth1', field: 'annotations["cdi.k8s.io/z"]' },
    ]);
    expect(cdiRequests([], {})).to.deep.equal([]);
  });

  const refused: Array<{ name: string; devices: string[]; annotations?: Record<string, string>; message: string }> = [
    { name: 'a name without a kind', devices: ['gpu0'], message: 'cdi_devices[0]: "gpu0" is not a fully-qualified CDI device name' },
    { name: 'a name without a device', devices: ['vendor.com/gpu='], message: 'cdi_devices[0]' },
    { name: 'a path-like kind', devices: ['vendor.com/../x=1'], message: 'cdi_devices[0]' },
    { name: 'a bad annotation value', devices: [], annotations: { 'cdi.k8s.io/x': 'vendor.com/gpu=0,../etc' }, message: 'annotations["cdi.k8s.io/x"]: "../etc"' },
    { name: 'a huge name (shown cut)', devices: [`vendor.com/gpu=${'a'.repeat(100000)}`], message: '(100015 characters)' },
    { name: 'too many cdi_devices', devices: Array.from({ length: MAX_CDI_REQUESTS + 1 }, (_, i) => `v.com/c=d${i}`), message: `at most ${MAX_CDI_REQUESTS}` },
    { name: 'too many across annotations', devices: [], annotations: { 'cdi.k8s.io/x': Array.from({ length: MAX_CDI_REQUESTS + 1 }, (_, i) => `v.com/c=d${i}`).join(',') }, message: `more than ${MAX_CDI_REQUESTS} CDI devices` },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}`, () => expect(() => cdiRequests(c.devices, c.annotations ?? {})).to.throw(InvalidArgumentError, c.message));
  }
});
