/**
 * The option table: every berthd setting with its TOML section/key, CLI flag, kind, default and
 * one line of documentation. Loading, validation, `berthd config`, `--help` and
 * docs/configuration.md are all driven from this one table, so a new option is one entry here.
 */
import type { LogFormat, LogLevel } from '../common/logger';

/** One configured OCI runtime handler (`[runtimes.<name>]`). */
export interface RuntimeHandlerConfig {
  /** Absolute path of the runtime binary (runc, crun). */
  path: string;
  /** The runtime's state directory (`--root`); defaults to `<run_root>/runtimes/<name>`. */
  root?: string;
}

/** The daemon's effective configuration, passed as plain options to every layer. */
export interface BerthConfig {
  listen: string;
  root: string;
  runRoot: string;
  shutdownGraceSeconds: number;
  cgroupDriver: 'cgroupfs' | 'systemd';
  logLevel: LogLevel;
  logFormat: LogFormat;
  metricsListen: string;
  cniConfigDir: string;
  cniPluginDirs: string[];
  cniCacheDir: string;
  defaultNetworkName: string;
  defaultNetworkBridge: string;
  defaultNetworkSubnet: string;
  registriesConfig: string;
  defaultRuntime: string;
  conmonPath: string;
  pauseUid: number;
  pauseGid: number;
  streamingAddress: string;
  streamingTlsCert: string;
  streamingTlsKey: string;
  streamingPortForwardPerPod: number;
  streamingPortForwardTotal: number;
  cdiSpecDirs: string[];
  tracingEndpoint: string;
  tracingSamplingRate: number;
  tracingServiceName: string;
  runtimes: Record<string, RuntimeHandlerConfig>;
}

/** The scalar (table-driven) fields; `runtimes` is a map handled on its own. */
export type ScalarField = Exclude<keyof BerthConfig, 'runtimes'>;

/**
 * How a value is checked: `path` absolute path; `path-or-empty` absolute path or "" (derived);
 * `address` host:port or ""; `int` non-negative integer; `enum` one of `choices`; `name` a
 * short identifier; `cidr` an IPv4 prefix; `path-list` list of absolute paths; `url-or-empty` an
 * http(s):// or grpc(s):// URL or ""; `ratio` a number from 0 to 1.
 */
export type OptionKind = 'path' | 'path-or-empty' | 'address' | 'int' | 'enum' | 'name' | 'cidr' | 'path-list' | 'url-or-empty' | 'ratio';

/** One documented option. */
export interface OptionSpec {
  field: ScalarField;
  section: string;
  key: string;
  /** CLI flag without the dashes; absent when the option is file-only. */
  flag?: string;
  kind: OptionKind;
  choices?: readonly string[];
  default: string | number | string[];
  doc: string;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Every scalar option, in documentation order. */
export const OPTIONS: readonly OptionSpec[] = [
  { field: 'listen', section: 'daemon', key: 'listen', flag: 'listen', kind: 'path', default: '/run/berth/berth.sock', doc: 'Unix socket serving CRI RuntimeService and ImageService (mode 0660).' },
  { field: 'root', section: 'daemon', key: 'root', flag: 'root', kind: 'path', default: '/var/lib/berth', doc: 'Persistent state: images, pod and container records.' },
  { field: 'runRoot', section: 'daemon', key: 'run_root', flag: 'run-root', kind: 'path', default: '/run/berth', doc: 'Volatile state: namespace pins, exit files, conmon sockets.' },
  { field: 'shutdownGraceSeconds', section: 'daemon', key: 'shutdown_grace_seconds', flag: 'shutdown-grace-seconds', kind: 'int', default: 10, doc: 'On SIGTERM/SIGINT, how long in-flight RPCs may finish before they are cancelled.' },
  { field: 'cgroupDriver', section: 'daemon', key: 'cgroup_driver', flag: 'cgroup-driver', kind: 'enum', choices: ['cgroupfs', 'systemd'], default: 'cgroupfs', doc: 'Cgroup driver reported to kubelet (RuntimeConfig) and used for pod cgroups; only cgroupfs works today, berthd refuses to start with systemd (exit 2).' },
  { field: 'logLevel', section: 'log', key: 'level', flag: 'log-level', kind: 'enum', choices: LOG_LEVELS, default: 'info', doc: 'Lowest level written to stderr.' },
  { field: 'logFormat', section: 'log', key: 'format', flag: 'log-format', kind: 'enum', choices: ['json', 'text'], default: 'json', doc: 'json: one JSON object per line; text: for humans.' },
  { field: 'metricsListen', section: 'metrics', key: 'listen', flag: 'metrics-listen', kind: 'address', default: '127.0.0.1:9090', doc: 'host:port of the Prometheus endpoint (/metrics); empty disables it; port 0 picks a free port.' },
  { field: 'cniConfigDir', section: 'cni', key: 'config_dir', flag: 'cni-config-dir', kind: 'path', default: '/etc/cni/net.d', doc: 'Directory of CNI network configurations (.conflist/.conf); the first in lexical order is used.' },
  { field: 'cniPluginDirs', section: 'cni', key: 'plugin_dirs', flag: 'cni-plugin-dirs', kind: 'path-list', default: ['/opt/cni/bin', '/usr/lib/cni'], doc: 'Directories searched for CNI plugin binaries, in order (flag: comma-separated).' },
  { field: 'cniCacheDir', section: 'cni', key: 'cache_dir', kind: 'path-or-empty', default: '', doc: 'Cached CNI results (for DEL after a restart); empty means `<root>/cni/results`.' },
  { field: 'defaultNetworkName', section: 'cni.default_network', key: 'name', kind: 'name', default: 'berth', doc: 'Name of the embedded bridge network used when the CNI config dir holds none.' },
  { field: 'defaultNetworkBridge', section: 'cni.default_network', key: 'bridge', kind: 'name', default: 'berth0', doc: 'Linux bridge of the embedded default network (at most 15 characters).' },
  { field: 'defaultNetworkSubnet', section: 'cni.default_network', key: 'subnet', kind: 'cidr', default: '10.89.0.0/16', doc: 'IPv4 subnet of the embedded default network.' },
  { field: 'registriesConfig', section: 'image', key: 'registries_config', flag: 'registries-config', kind: 'path', default: '/etc/containers/registries.conf', doc: 'containers-registries.conf v2 file (mirrors, insecure, blocked, unqualified search); a missing file means none.' },
  { field: 'defaultRuntime', section: 'runtime', key: 'default_runtime', flag: 'default-runtime', kind: 'name', default: 'runc', doc: 'Runtime handler used when a pod names none; must be a key of [runtimes].' },
  { field: 'conmonPath', section: 'runtime', key: 'conmon_path', flag: 'conmon-path', kind: 'path', default: '/usr/bin/conmon', doc: 'conmon binary that monitors each container.' },
  { field: 'pauseUid', section: 'runtime', key: 'pause_uid', kind: 'int', default: 65535, doc: 'User id the per-pod pause process runs as.' },
  { field: 'pauseGid', section: 'runtime', key: 'pause_gid', kind: 'int', default: 65535, doc: 'Group id the per-pod pause process runs as.' },
  { field: 'streamingAddress', section: 'streaming', key: 'address', flag: 'streaming-address', kind: 'address', default: '127.0.0.1:0', doc: 'host:port of the Exec/Attach/PortForward streaming server; port 0 picks a free port.' },
  { field: 'streamingTlsCert', section: 'streaming', key: 'tls_cert', kind: 'path-or-empty', default: '', doc: 'PEM certificate for serving streaming over HTTPS (with tls_key); empty serves plain HTTP.' },
  { field: 'streamingTlsKey', section: 'streaming', key: 'tls_key', kind: 'path-or-empty', default: '', doc: 'PEM private key of tls_cert.' },
  { field: 'streamingPortForwardPerPod', section: 'streaming', key: 'port_forward_per_pod', kind: 'int', default: 128, doc: 'Port-forward connections open at once to one pod; more are refused with an error naming the limit (0 refuses all).' },
  { field: 'streamingPortForwardTotal', section: 'streaming', key: 'port_forward_total', kind: 'int', default: 1024, doc: 'Port-forward connections open at once on this node, all pods together (0 refuses all).' },
  { field: 'cdiSpecDirs', section: 'cdi', key: 'spec_dirs', flag: 'cdi-spec-dirs', kind: 'path-list', default: ['/etc/cdi', '/var/run/cdi'], doc: 'Directories of CDI spec files (.json, .yaml), re-read when they change; a later directory overrides an earlier one (flag: comma-separated).' },
  { field: 'tracingEndpoint', section: 'tracing', key: 'endpoint', flag: 'tracing-endpoint', kind: 'url-or-empty', default: '', doc: 'OTLP collector for traces: http(s)://host:4318/v1/traces sends OTLP/HTTP JSON, grpc://host:4317 (plaintext) or grpcs://host:4317 (TLS) OTLP/gRPC; empty disables tracing and loads no tracing code.' },
  { field: 'tracingSamplingRate', section: 'tracing', key: 'sampling_rate', flag: 'tracing-sampling-rate', kind: 'ratio', default: 1, doc: "Share of new traces recorded, 0 to 1; a call carrying the caller's traceparent follows the caller's sampling decision instead." },
  { field: 'tracingServiceName', section: 'tracing', key: 'service_name', flag: 'tracing-service-name', kind: 'name', default: 'berth', doc: 'service.name resource attribute of the exported spans.' },
];

/** Default `[runtimes]`: runc (works on cgroup v1 hybrid hosts) and crun. */
export function defaultRuntimes(): Record<string, RuntimeHandlerConfig> {
  return { runc: { path: '/usr/sbin/runc' }, crun: { path: '/usr/bin/crun' } };
}

/** The built-in defaults as a config object. */
export function defaultConfig(): BerthConfig {
  const out: Partial<Record<ScalarField, unknown>> = {};
  for (const o of OPTIONS) out[o.field] = Array.isArray(o.default) ? [...o.default] : o.default;
  return { ...(out as Omit<BerthConfig, 'runtimes'>), runtimes: defaultRuntimes() };
}

/** The spec of `field`. */
export function optionFor(field: ScalarField): OptionSpec {
  const spec = OPTIONS.find((o) => o.field === field);
  if (!spec) throw new Error(`no option spec for ${field}`); // programming error
  return spec;
}

/** `[section] key` as used in messages. */
export function optionLabel(o: Pick<OptionSpec, 'section' | 'key'>): string {
  return `[${o.section}] ${o.key}`;
}
