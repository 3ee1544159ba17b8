/**
 * The metrics ListPodSandboxMetrics reports, described once for ListMetricDescriptors. Names, help
 * texts and label keys follow cAdvisor (the names dashboards already query), as cri-o does:
 * every metric carries `id`, `name`, `image`; network metrics add `interface`, CPU usage adds
 * `cpu` (always "total": per-CPU series are off by default in kubelet's cAdvisor too).
 *
 * kubelet turns each descriptor into a Prometheus Desc and every Metric into a const metric with
 * `label_values` in the same order, so a metric's label values must match its keys one to one.
 */

/** Prometheus metric type of a sample (CRI MetricType). */
export type MetricKind = 'counter' | 'gauge';

/** One metric family (CRI MetricDescriptor) plus its type. */
export interface MetricDescriptorView {
  name: string;
  help: string;
  labelKeys: readonly string[];
  kind: MetricKind;
}

/** Label keys every metric starts with. Pod-level metrics use name "POD" and an empty image. */
const BASE_LABEL_KEYS = ['id', 'name', 'image'] as const;

const base = [...BASE_LABEL_KEYS];
const withKey = (key: string) => [...BASE_LABEL_KEYS, key];

function d(name: string, kind: MetricKind, help: string, labelKeys: readonly string[] = base): MetricDescriptorView {
  return { name, help, labelKeys, kind };
}

/** Per-container metrics read from the container's cgroup, its writable layer and its record. */
export const CONTAINER_METRICS = {
  cpuUsage: d('container_cpu_usage_seconds_total', 'counter', 'Cumulative CPU time consumed in seconds.', withKey('cpu')),
  cpuUser: d('container_cpu_user_seconds_total', 'counter', 'Cumulative user CPU time consumed in seconds.'),
  cpuSystem: d('container_cpu_system_seconds_total', 'counter', 'Cumulative system CPU time consumed in seconds.'),
  cfsPeriods: d('container_cpu_cfs_periods_total', 'counter', 'Number of elapsed enforcement period intervals.'),
  cfsThrottledPeriods: d('container_cpu_cfs_throttled_periods_total', 'counter', 'Number of throttled period intervals.'),
  cfsThrottledSeconds: d('container_cpu_cfs_throttled_seconds_total', 'counter', 'Total time duration the container has been throttled.'),
  memoryUsage: d('container_memory_usage_bytes', 'gauge', 'Current memory usage in bytes, including all memory regardless of when it was accessed.'),
  memoryMaxUsage: d('container_memory_max_usage_bytes', 'gauge', 'Maximum memory usage recorded in bytes.'),
  memoryWorkingSet: d('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.'),
  memoryRss: d('container_memory_rss', 'gauge', 'Size of RSS in bytes.'),
  memoryCache: d('container_memory_cache', 'gauge', 'Number of bytes of page cache memory.'),
  memoryMappedFile: d('container_memory_mapped_file', 'gauge', 'Size of memory mapped files in bytes.'),
  memorySwap: d('container_memory_swap', 'gauge', 'Container swap usage in bytes.'),
  memoryFailcnt: d('container_memory_failcnt', 'counter', 'Number of memory usage hits limits.'),
  oomEvents: d('container_oom_events_total', 'counter', 'Count of out of memory events observed for the container.'),
  processes: d('container_processes', 'gauge', 'Number of processes running inside the container.'),
  threads: d('container_threads', 'gauge', 'Number of threads running inside the container.'),
  threadsMax: d('container_threads_max', 'gauge', 'Maximum number of threads allowed inside the container, infinity if value is zero.'),
  fsUsage: d('container_fs_usage_bytes', 'gauge', 'Number of bytes consumed by the container on its writable layer.'),
  fsInodesUsed: d('container_fs_inodes_usage', 'gauge', 'Number of inodes used by the container on its writable layer.'),
  fsLimit: d('container_fs_limit_bytes', 'gauge', 'Number of bytes that can be consumed by the container on the writable layer filesystem.'),
  fsInodesTotal: d('container_fs_inodes_total', 'gauge', 'Number of inodes of the writable layer filesystem.'),
  fsInodesFree: d('container_fs_inodes_free', 'gauge', 'Number of free inodes of the writable layer filesystem.'),
  specMemoryLimit: d('container_spec_memory_limit_bytes', 'gauge', 'Memory limit for the container in bytes (0: unlimited).'),
  specMemoryReservation: d('container_spec_memory_reservation_limit_bytes', 'gauge', 'Memory reservation limit for the container in bytes (0: none).'),
  specMemorySwapLimit: d('container_spec_memory_swap_limit_bytes', 'gauge', 'Memory plus swap limit for the container in bytes (0: unlimited).'),
  specCpuShares: d('container_spec_cpu_shares', 'gauge', 'CPU share of the container.'),
  specCpuQuota: d('container_spec_cpu_quota', 'gauge', 'CPU quota of the container in microseconds per period (0: none).'),
  specCpuPeriod: d('container_spec_cpu_period', 'gauge', 'CPU period of the container in microseconds.'),
  lastSeen: d('container_last_seen', 'gauge', 'Last time a container was seen by the exporter (unix seconds).'),
} as const;

/** Pod-level metrics: the pod network namespace's interface counters. */
export const POD_NETWORK_METRICS = {
  rxBytes: d('container_network_receive_bytes_total', 'counter', 'Cumulative count of bytes received.', withKey('interface')),
  rxPackets: d('container_network_receive_packets_total', 'counter', 'Cumulative count of packets received.', withKey('interface')),
  rxDropped: d('container_network_receive_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while receiving.', withKey('interface')),
  rxErrors: d('container_network_receive_errors_total', 'counter', 'Cumulative count of errors encountered while receiving.', withKey('interface')),
  txBytes: d('container_network_transmit_bytes_total', 'counter', 'Cumulative count of bytes transmitted.', withKey('interface')),
  txPackets: d('container_network_transmit_packets_total', 'counter', 'Cumulative count of packets transmitted.', withKey('interface')),
  txDropped: d('container_network_transmit_packets_dropped_total', 'counter', 'Cumulative count of packets dropped while transmitting.', withKey('interface')),
  txErrors: d('container_network_transmit_errors_total', 'counter', 'Cumulative count of errors encountered while transmitting.', withKey('interface')),
} as const;

/** Every descriptor, static for the daemon's lifetime (ListMetricDescriptors). */
export const METRIC_DESCRIPTORS: readonly MetricDescriptorView[] = [...Object.values(CONTAINER_METRICS), ...Object.values(POD_NETWORK_METRICS)];
