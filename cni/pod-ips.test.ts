import { expect } from 'chai';
import { podIpsFromResult } from './pod-ips';

describe('cni/pod-ips', () => {
  it('returns sandbox addresses without prefix, IPv4 first', () => {
    const ips = podIpsFromResult({
      interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [
        { address: 'fd00::5/64', interface: 2 },
        { address: '10.88.0.1/16', interface: 0 },
        { address: '10.88.0.5/16', interface: 2 },
        { address: '10.88.0.5/16', interface: 2 },
      ],
    });
    expect(ips).to.deep.equal(['10.88.0.5', 'fd00::5']);
  });

  it('keeps addresses that name no interface (0.3.x results from some plugins)', () => {
    expect(podIpsFromResult({ ips: [{ address: '192.168.1.9/24', version: '4' }] })).to.deep.equal(['192.168.1.9']);
    expect(podIpsFromResult({})).to.deep.equal([]);
  });
});
