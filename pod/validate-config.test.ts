import { expect } from 'chai';
import { InvalidArgumentError } from '../common/errors';
import { parseQuantity, bandwidthFromAnnotations } from './quantity';
import { toDotForm } from './sysctls';
import { NamespaceMode, PodSandboxConfigInput } from './types';
import { validatePodConfig } from './validate-config';

const handlers = { handlers: ['runc', 'crun'], defaultHandler: 'runc' };

function base(extra: Partial<PodSandboxConfigInput> = {}): PodSandboxConfigInput {
  return { metadata: { name: 'web', namespace: 'default', uid: 'u-1', attempt: 0 }, ...extra };
}

function withLinux(sysctls: Record<string, string>, network: number = NamespaceMode.POD, ipc: number = NamespaceMode.POD): PodSandboxConfigInput {
  return base({ linux: { sysctls, securityContext: { namespaceOptions: { network, ipc } } } });
}

describe('pod/validate-config', () => {
  const refused: Array<[string, PodSandboxConfigInput | null, string, RegExp]> = [
    ['missing config', null, '', /^config: is required/],
    ['missing metadata', {}, '', /^config\.metadata: is required/],
    ['empty name', base({ metadata: { name: '', namespace: 'd', uid: 'u' } }), '', /^config\.metadata\.name/],
    ['missing namespace', base({ metadata: { name: 'n', uid: 'u' } }), '', /^config\.metadata\.namespace/],
    ['missing uid', base({ metadata: { name: 'n', namespace: 'd' } }), '', /^config\.metadata\.uid/],
    ['name too long', base({ metadata: { name: 'n'.repeat(254), namespace: 'd', uid: 'u' } }), '', /^config\.metadata\.name: is longer/],
    ['name with a slash', base({ metadata: { name: '../x', namespace: 'd', uid: 'u' } }), '', /^config\.metadata\.name: must not contain "\/"/],
    ['namespace with a slash', base({ metadata: { name: 'n', namespace: 'a/b', uid: 'u' } }), '', /^config\.metadata\.namespace/],
    ['log directory with ..', base({ logDirectory: '/var/log/pods/../../etc' }), '', /^config\.log_directory: must not contain "\.\."/],
    ['hostname with underscore', base({ hostname: 'bad_host' }), '', /^config\.hostname/],
    ['hostname too long', base({ hostname: 'a'.repeat(65) }), '', /^config\.hostname/],
    ['host port above range', base({ portMappings: [{ containerPort: 80, hostPort: 70000 }] }), '', /^config\.port_mappings\[0\]\.host_port/],
    ['negative container port', base({ portMappings: [{ containerPort: -1 }] }), '', /^config\.port_mappings\[0\]\.container_port/],
    ['unknown protocol', base({ portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 7 }] }), '', /^config\.port_mappings\[0\]\.protocol/],
    ['host ip not an IP', base({ portMappings: [{ containerPort: 80, hostPort: 8080, hostIp: 'localhost' }] }), '', /host_ip/],
    ['non-namespaced sysctl', withLinux({ 'kernel.panic': '1' }), '', /^linux\.sysctls\["kernel\.panic"\]: sysctl is not namespaced/],
    ['net sysctl with host network', withLinux({ 'net.ipv4.ip_forward': '1' }, NamespaceMode.NODE), '', /network is NODE/],
    ['ipc sysctl with host ipc', withLinux({ 'kernel.shmmax': '1' }, NamespaceMode.POD, NamespaceMode.NODE), '', /ipc is NODE/],
    ['value injecting a second sysctl with =', withLinux({ 'net.ipv4.ip_forward': '1\nkernel.panic=1' }), '', /forbidden character/],
    ['value with +', withLinux({ 'net.ipv4.ping_group_range': '0 +1' }), '', /forbidden character/],
    ['value with NUL', withLinux({ 'net.ipv4.ip_forward': '1\0' }), '', /forbidden character/],
    ['name with path traversal', withLinux({ 'net.ipv4/../../kernel.panic': '1' }), '', /invalid sysctl name/],
    ['dns server not an IP', base({ dnsConfig: { servers: ['dns.example'] } }), '', /^config\.dns_config\.servers\[0\]/],
    ['dns search with newline', base({ dnsConfig: { searches: ['a.example\nnameserver 6.6.6.6'] } }), '', /^config\.dns_config\.searches\[0\]/],
    ['dns option with space', base({ dnsConfig: { options: ['ndots:5 rotate'] } }), '', /^config\.dns_config\.options\[0\]/],
    ['unknown runtime handler', base(), 'kata', /^runtime_handler: "kata" is not a configured runtime handler/],
    ['relative cgroup parent', base({ linux: { cgroupParent: 'kubepods' } }), '', /^config\.linux\.cgroup_parent/],
    ['systemd slice cgroup parent', base({ linux: { cgroupParent: '/kubepods.slice' } }), '', /systemd slice/],
    ['cgroup parent with ..', base({ linux: { cgroupParent: '/kubepods/../etc' } }), '', /not a clean path/],
    ['bad bandwidth annotation', base({ annotations: { 'kubernetes.io/ingress-bandwidth': '10Q' } }), '', /ingress-bandwidth/],
    ['pid TARGET', base({ linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.TARGET } } } }), '', /namespace_options\.pid/],
  ];
  for (const [what, config, handler, message] of refused) {
    it(`refuses ${what}`, () => {
      let caught: unknown;
      try {
        validatePodConfig(config, handler, handlers);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(InvalidArgumentError);
      expect((caught as Error).message).to.match(message);
    });
  }

  it('accepts a full config and normalises it', () => {
    const v = validatePodConfig(
      base({
        hostname: 'web-0',
        portMappings: [
          { containerPort: 80, hostPort: 8080, protocol: 0 },
          { containerPort: 53, hostPort: 5353, protocol: 1, hostIp: '127.0.0.1' },
          { containerPort: 9000 },
        ],
        dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
        annotations: { 'kubernetes.io/ingress-bandwidth': '10M', 'kubernetes.io/egress-bandwidth': '1Gi' },
        linux: {
          cgroupParent: '/kubepods/besteffort/pod-u-1/',
          sysctls: { 'net/ipv4/ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', 'kernel.sem': '250 32000 32 128' },
          securityContext: { namespaceOptions: { pid: NamespaceMode.POD } },
        },
      }),
      '',
      handlers,
    );
    expect(v.reservedName).to.equal('k8s_web_default_u-1_0');
    expect(v.runtimeHandler).to.equal('runc');
    expect(v.modes).to.deep.equal({ network: 'pod', ipc: 'pod', pid: 'pod' });
    expect(v.portMappings).to.deep.equal([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
    ]);
    expect(v.sysctls).to.deep.equal({ 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1', 'kernel.sem': '250 32000 32 128' });
    expect(v.bandwidth).to.deep.equal({ ingressBps: 10_000_000, egressBps: 2 ** 30 });
    expect(v.cgroupParent).to.equal('/kubepods/besteffort/pod-u-1');
    expect(v.dns).to.deep.equal({ servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] });
  });

  it('defaults: no dns, crun chosen explicitly, host network skips bandwidth', () => {
    const v = validatePodConfig(
      base({ linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } }, annotations: { 'kubernetes.io/ingress-bandwidth': '1M' } }),
      'crun',
      handlers,
    );
    expect(v.dns).to.equal(undefined);
    expect(v.runtimeHandler).to.equal('crun');
    expect(v.modes.network).to.equal('node');
    expect(v.bandwidth).to.equal(undefined);
    expect(v.cgroupParent).to.equal('');
  });

  it('absent namespace modes are POD (the CRI enum zero value), pid included', () => {
    expect(validatePodConfig(base(), '', handlers).modes).to.deep.equal({ network: 'pod', ipc: 'pod', pid: 'pod' });
    const partial = validatePodConfig(base({ linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD } } } }), '', handlers);
    expect(partial.modes.pid).to.equal('pod');
    const explicit = validatePodConfig(base({ linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } } } }), '', handlers);
    expect(explicit.modes.pid).to.equal('container');
  });
});

describe('pod/sysctls and quantities', () => {
  it('converts the slash form to the dot form', () => {
    expect(toDotForm('net/ipv4/ip_forward')).to.equal('net.ipv4.ip_forward');
    expect(toDotForm('net/ipv4/conf/eth0.100/rp_filter')).to.equal('net.ipv4.conf.eth0/100.rp_filter');
    expect(toDotForm('kernel.shmmax')).to.equal('kernel.shmmax');
  });
  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('10M')).to.equal(10e6);
    expect(parseQuantity('1Gi')).to.equal(1073741824);
    expect(parseQuantity('500k')).to.equal(500e3);
    expect(parseQuantity('1.5M')).to.equal(1.5e6);
    expect(parseQuantity('1e6')).to.equal(1e6);
    expect(parseQuantity('100')).to.equal(100);
    expect(parseQuantity('10 M')).to.equal(undefined);
    expect(parseQuantity('M')).to.equal(undefined);
  });
  it('bounds bandwidth like kubelet (1k..1P)', () => {
    expect(() => bandwidthFromAnnotations({ 'kubernetes.io/egress-bandwidth': '10' })).to.throw(InvalidArgumentError, /egress-bandwidth/);
    expect(bandwidthFromAnnotations({})).to.equal(undefined);
    expect(bandwidthFromAnnotations({ 'kubernetes.io/egress-bandwidth': '2k' })).to.deep.equal({ egressBps: 2000 });
  });
});
