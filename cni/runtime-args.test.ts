import { expect } from 'chai';
import { trimDefaultNetworkForPod } from './default-network';
import { buildCapabilityArgs, buildCniArgs, buildPluginConfig } from './runtime-args';
import { NetworkConfigList } from './types';

describe('cni/runtime-args', () => {
  const pod = { id: 'abc123', name: 'web', namespace: 'prod', uid: 'u-1', netnsPath: '/run/berth/ns/net/abc123' };

  it('builds CNI_ARGS with IgnoreUnknown and the K8S_POD_* keys', () => {
    expect(buildCniArgs(pod)).to.equal(
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1',
    );
  });

  it('maps port mappings, bandwidth (bps with unlimited burst) and dns to capability args', () => {
    const args = buildCapabilityArgs({
      ...pod,
      portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
      ],
      bandwidth: { ingressBps: 1_000_000, egressBps: 0 },
      dns: { servers: ['10.96.0.10'], searches: ['prod.svc.cluster.local'], options: ['ndots:5'] },
    });
    expect(args).to.deep.equal({
      portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
      ],
      bandwidth: { ingressRate: 1_000_000, ingressBurst: 2147483647 },
      dns: { servers: ['10.96.0.10'], searches: ['prod.svc.cluster.local'], options: ['ndots:5'] },
    });
  });

  it('leaves out declared container ports without a hostPort', () => {
    const args = buildCapabilityArgs({
      ...pod,
      portMappings: [
        { hostPort: 0, containerPort: 80, protocol: 'tcp' },
        { hostPort: 9090, containerPort: 90, protocol: 'tcp' },
      ],
    });
    expect(args).to.deep.equal({ portMappings: [{ hostPort: 9090, containerPort: 90, protocol: 'tcp' }] });
    expect(buildCapabilityArgs({ ...pod, portMappings: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }] })).to.deep.equal({});
  });

  it('supplies nothing for empty inputs', () => {
    expect(buildCapabilityArgs({ ...pod, portMappings: [], bandwidth: {}, dns: { servers: [], searches: [], options: [] } })).to.deep.equal({});
  });

  it('gives a plugin only the capabilities it declares, plus list name/version and prevResult', () => {
    const list: NetworkConfigList = { cniVersion: '1.0.0', name: 'net', plugins: [] };
    const caps = { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' }], bandwidth: { ingressRate: 5 } };
    const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] };
    const portmap = buildPluginConfig(list, { type: 'portmap', capabilities: { portMappings: true, bandwidth: false } }, caps, prev);
    expect(portmap).to.deep.equal({
      type: 'portmap',
      capabilities: { portMappings: true, bandwidth: false },
      cniVersion: '1.0.0',
      name: 'net',
      runtimeConfig: { portMappings: caps.portMappings },
      prevResult: prev,
    });
    const bridge = buildPluginConfig(list, { type: 'bridge', runtimeConfig: { injected: true } }, caps, undefined);
    expect(bridge).to.deep.equal({ type: 'bridge', cniVersion: '1.0.0', name: 'net' });
  });

  it('trims capability-only plugins from the default network when the pod supplies none', () => {
    const list: NetworkConfigList = {
      cniVersion: '1.0.0',
      name: 'berth',
      plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'bandwidth', capabilities: { bandwidth: true } }],
    };
    expect(trimDefaultNetworkForPod(list, {}).plugins.map((p) => p.type)).to.deep.equal(['bridge']);
    expect(trimDefaultNetworkForPod(list, { bandwidth: {} }).plugins.map((p) => p.type)).to.deep.equal(['bridge', 'bandwidth']);
    expect(list.plugins).to.have.length(3);
  });
});
