import { expect } from 'chai';
import { parse } from 'smol-toml';
import { bridgeConflist, containerdConfigToml, containerdPaths, registryHostsToml, type ContainerdLayout } from './containerd-config';

const layout: ContainerdLayout = {
  dir: '/tmp/ctd-x',
  registryHost: '127.0.0.1:5123',
  sandboxImage: '127.0.0.1:5123/bench/pause:latest',
  bridge: 'bbcab12',
  subnet: '10.231.0.0/16',
  cniBinDir: '/usr/lib/cni',
  runcPath: '/usr/sbin/runc',
};

describe('bench/containerd: configuration', () => {
  it('keeps every path of containerd inside its temp dir and enables the isolated CRI setup', () => {
    const doc = parse(containerdConfigToml(layout)) as Record<string, any>;
    expect(doc.version).to.equal(2);
    expect(doc.root).to.equal('/tmp/ctd-x/root');
    expect(doc.state).to.equal('/tmp/ctd-x/state');
    expect(doc.grpc.address).to.equal(containerdPaths('/tmp/ctd-x').socket);
    expect(doc.ttrpc.address.startsWith('/tmp/ctd-x/')).to.equal(true);
    const cri = doc.plugins['io.containerd.grpc.v1.cri'];
    expect(cri.sandbox_image).to.equal(layout.sandboxImage);
    expect(cri.netns_mounts_under_state_dir).to.equal(true);
    expect(cri.restrict_oom_score_adj).to.equal(true);
    expect(cri.cni).to.deep.equal({ bin_dir: '/usr/lib/cni', conf_dir: '/tmp/ctd-x/cni/net.d', max_conf_num: 1 });
    expect(cri.registry.config_path).to.equal('/tmp/ctd-x/certs.d');
    const runc = cri.containerd.runtimes.runc;
    expect(runc.runtime_type).to.equal('io.containerd.runc.v2');
    expect(runc.options).to.deep.equal({ BinaryName: '/usr/sbin/runc', Root: '/tmp/ctd-x/runc', SystemdCgroup: false });
    expect(doc.plugins['io.containerd.internal.v1.opt'].path).to.equal('/tmp/ctd-x/opt');
  });

  it('points the registry host at plain HTTP', () => {
    const doc = parse(registryHostsToml('127.0.0.1:5123')) as Record<string, any>;
    expect(doc.server).to.equal('http://127.0.0.1:5123');
    expect(doc.host['http://127.0.0.1:5123'].capabilities).to.deep.equal(['pull', 'resolve']);
  });

  it('builds a bridge network on its own bridge, subnet and IPAM dir, without per-pod masquerade', () => {
    const list = JSON.parse(bridgeConflist(layout));
    const bridge = list.plugins[0];
    expect(bridge.type).to.equal('bridge');
    expect(bridge.bridge).to.equal('bbcab12');
    expect(bridge.ipMasq).to.equal(false);
    expect(bridge.ipam.ranges[0][0].subnet).to.equal('10.231.0.0/16');
    expect(bridge.ipam.dataDir).to.equal('/tmp/ctd-x/cni/ipam');
    expect(list.plugins.map((p: { type: string }) => p.type)).to.deep.equal(['bridge', 'portmap']);
  });
});
