/**
 * The isolated configuration of the containerd the bench starts: its own root, state, sockets,
 * runc root, CNI conf dir and bridge network, a registry hosts dir that lets it pull from the
 * bench's plain-HTTP registry, and the bench's pause image as sandbox_image. Pure functions: the
 * harness writes what they return.
 */
import * as path from 'node:path';

/** Everything the configuration depends on. */
export interface ContainerdLayout {
  /** Temp dir holding everything below. */
  dir: string;
  /** `host:port` of the bench registry (plain HTTP). */
  registryHost: string;
  /** The pause image reference (in that registry). */
  sandboxImage: string;
  /** Linux bridge of its pod network (≤ 15 characters). */
  bridge: string;
  /** IPv4 subnet of its pod network, distinct from berth's. */
  subnet: string;
  /** Directory of CNI plugin binaries. */
  cniBinDir: string;
  /** OCI runtime binary. */
  runcPath: string;
}

/** The paths inside `dir`. */
export function containerdPaths(dir: string) {
  return {
    config: path.join(dir, 'config.toml'),
    root: path.join(dir, 'root'),
    state: path.join(dir, 'state'),
    socket: path.join(dir, 'containerd.sock'),
    ttrpcSocket: path.join(dir, 'containerd.sock.ttrpc'),
    runcRoot: path.join(dir, 'runc'),
    cniConfDir: path.join(dir, 'cni', 'net.d'),
    cniDataDir: path.join(dir, 'cni', 'ipam'),
    certsDir: path.join(dir, 'certs.d'),
    opt: path.join(dir, 'opt'),
    log: path.join(dir, 'containerd.log'),
  };
}

const q = (s: string): string => JSON.stringify(s);

/** config.toml (version 2, containerd 1.6) with the CRI plugin configured for the bench. */
export function containerdConfigToml(l: ContainerdLayout): string {
  const p = containerdPaths(l.dir);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = ${q(p.root)}`,
    `state = ${q(p.state)}`,
    // Snapshotters it cannot use here only slow down start-up and log errors.
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    '',
    '[grpc]',
    `  address = ${q(p.socket)}`,
    '[ttrpc]',
    `  address = ${q(p.ttrpcSocket)}`,
    '[debug]',
    '  address = ""',
    '  level = "warn"',
    '[metrics]',
    '  address = ""',
    '',
    `[${cri}]`,
    `  sandbox_image = ${q(l.sandboxImage)}`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    '  disable_apparmor = true',
    // This host denies lowering oom_score_adj even for root (containerd's restrict_oom_score_adj does the same).
    '  restrict_oom_score_adj = true',
    // Pod netns pins under the state dir, not /var/run/netns, so cleanup finds every one.
    '  netns_mounts_under_state_dir = true',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    `  BinaryName = ${q(l.runcPath)}`,
    `  Root = ${q(p.runcRoot)}`,
    '  SystemdCgroup = false',
    `[${cri}.cni]`,
    `  bin_dir = ${q(l.cniBinDir)}`,
    `  conf_dir = ${q(p.cniConfDir)}`,
    '  max_conf_num = 1',
    `[${cri}.registry]`,
    `  config_path = ${q(p.certsDir)}`,
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(p.opt)}`,
    '',
  ].join('\n');
}

/** certs.d/<host>/hosts.toml: pull and resolve over plain HTTP from the bench registry. */
export function registryHostsToml(registryHost: string): string {
  return [`server = ${q(`http://${registryHost}`)}`, '', `[host.${q(`http://${registryHost}`)}]`, '  capabilities = ["pull", "resolve"]', '  skip_verify = true', ''].join('\n');
}

/**
 * Its pod network: bridge + host-local on its own bridge and subnet, IPAM data in its own dir,
 * no per-pod ipMasq (berth's default network uses one network-wide rule instead, so per-pod
 * iptables work would not be a like-for-like comparison), portmap for hostPort capability.
 */
export function bridgeConflist(l: ContainerdLayout): string {
  const p = containerdPaths(l.dir);
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: `bench-${l.bridge}`,
      plugins: [
        {
          type: 'bridge',
          bridge: l.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: l.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: p.cniDataDir },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    },
    null,
    2,
  );
}
