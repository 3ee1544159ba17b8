/**
 * The CRI messages kubelet 1.3x builds for one pod (kuberuntime's generatePodSandboxConfig and
 * generateContainerConfig, cgroupfs driver), the host side kubelet prepares for it (the pod cgroup
 * in every hierarchy, the pod's volume dirs under a fake /var/lib/kubelet, the log directory), and
 * the small readers the sequence test checks with (CRI log lines, cgroup files).
 */
import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runtime } from '../../../cri/api/generated/cri';
import { detectCgroupHierarchies } from '../../../pod/pod-cgroups';
import type { CriClient } from '../../support/cri-client';

/** The host side of one replayed pod. */
export interface KubeletPod {
  name: string;
  namespace: string;
  uid: string;
  /** kubelet's cgroupfs pod cgroup, `/<root>/burstable/pod<uid>`. */
  cgroupParent: string;
  /** The top of it (removed with everything under it). */
  cgroupRoot: string;
  /** `/var/log/pods/<ns>_<name>_<uid>` (under the test's temp dir). */
  logDirectory: string;
  /** `/var/lib/kubelet/pods/<uid>` (under the test's temp dir). */
  podDir: string;
  /** A hostPath volume's directory. */
  hostPathDir: string;
  /** The emptyDir volume's directory (kubelet's `volumes/kubernetes.io~empty-dir/<name>`). */
  emptyDir: string;
  /** The projected service-account volume's directory (holds `token`). */
  projectedDir: string;
  /** kubelet's etc-hosts file for the pod. */
  etcHosts: string;
}

/** Creates the dirs and files kubelet makes before RunPodSandbox (volumes are set up before containers). */
export function preparePod(work: string, name: string, namespace: string, uid: string, cgroupRoot: string): KubeletPod {
  const podDir = path.join(work, 'var/lib/kubelet/pods', uid);
  const pod: KubeletPod = {
    name,
    namespace,
    uid,
    cgroupRoot,
    cgroupParent: `${cgroupRoot}/burstable/pod${uid}`,
    logDirectory: path.join(work, 'var/log/pods', `${namespace}_${name}_${uid}`),
    podDir,
    hostPathDir: path.join(work, 'srv/host-data'),
    emptyDir: path.join(podDir, 'volumes/kubernetes.io~empty-dir/work'),
    projectedDir: path.join(podDir, 'volumes/kubernetes.io~projected/kube-api-access-x7k2p'),
    etcHosts: path.join(podDir, 'etc-hosts'),
  };
  for (const d of [pod.logDirectory, pod.hostPathDir, pod.emptyDir, pod.projectedDir]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  fs.chmodSync(pod.emptyDir, 0o777);
  fs.writeFileSync(path.join(pod.hostPathDir, 'greeting'), 'hello-from-hostpath\n');
  fs.writeFileSync(path.join(pod.projectedDir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.replay-token\n', { mode: 0o644 });
  fs.writeFileSync(path.join(pod.projectedDir, 'namespace'), namespace);
  fs.writeFileSync(pod.etcHosts, `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n`);
  return pod;
}

/** The container's termination-log file kubelet creates under the pod dir. */
export function terminationLogPath(pod: KubeletPod, container: string): string {
  const p = path.join(pod.podDir, 'containers', container, 'c0ffee01');
  fs.mkdirSync(path.dirname(p), { recursive: true });
  if (!fs.existsSync(p)) fs.writeFileSync(p, '');
  return p;
}

/**
 * kubelet's QoS + pod cgroup in every hierarchy (it exists before RunPodSandbox); new v1 cpuset
 * levels copy their parent's cpus/mems as kubelet's cgroup manager does.
 */
export async function createPodCgroup(pod: KubeletPod): Promise<void> {
  for (const h of await detectCgroupHierarchies()) {
    let current = h.mountPoint;
    for (const segment of pod.cgroupParent.split('/').filter(Boolean)) {
      const parent = current;
      current = path.join(current, segment);
      if (fs.existsSync(current)) continue;
      await fsp.mkdir(current);
      if (h.version === 1 && h.controllers.includes('cpuset')) {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) await fsp.writeFile(path.join(current, f), (await fsp.readFile(path.join(parent, f), 'utf8')).trim());
      }
    }
  }
}

/** Removes the pod cgroup tree (deepest first); leftovers of berth's own leaves too. Never throws. */
export async function removePodCgroup(pod: KubeletPod): Promise<void> {
  for (const h of await detectCgroupHierarchies().catch(() => [])) {
    const top = path.join(h.mountPoint, pod.cgroupRoot);
    const dirs: string[] = [];
    const walk = (d: string) => {
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
      dirs.push(d);
    };
    walk(top);
    for (const d of dirs) await fsp.rmdir(d).catch(() => undefined);
  }
}

/** A file of the pod cgroup (`<mount>/<cgroupParent>/<file>`) in the hierarchy named `controller`. */
export function podCgroupFile(pod: KubeletPod, controller: 'cpu' | 'memory' | 'cpuset', file: string): string {
  return path.join('/sys/fs/cgroup', controller, pod.cgroupParent, file);
}

/** Labels kubelet puts on the sandbox (pod labels + its own). */
export function podLabels(pod: KubeletPod): Record<string, string> {
  return { app: 'kseq', 'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace, 'io.kubernetes.pod.uid': pod.uid };
}

/** The PodSandboxConfig kubelet sends for the pod (`attempt` counts sandboxes of the pod). */
export function podSandboxConfig(pod: KubeletPod, attempt = 0): runtime.v1.IPodSandboxConfig {
  return {
    metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid, attempt },
    hostname: pod.name,
    logDirectory: pod.logDirectory,
    dnsConfig: { servers: ['10.96.0.10'], searches: [`${pod.namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
    portMappings: [{ protocol: runtime.v1.Protocol.TCP, containerPort: 8080, hostPort: 0 }],
    labels: podLabels(pod),
    annotations: { 'kubernetes.io/config.seen': '2026-12-07T08:00:00.000000000Z', 'kubernetes.io/config.source': 'api', 'example.com/owner': 'team-a' },
    linux: {
      cgroupParent: pod.cgroupParent,
      securityContext: {
        namespaceOptions: { network: runtime.v1.NamespaceMode.POD, pid: runtime.v1.NamespaceMode.CONTAINER, ipc: runtime.v1.NamespaceMode.POD },
        seccomp: { profileType: runtime.v1.SecurityProfile.ProfileType.RuntimeDefault },
      },
      sysctls: {},
      overhead: {},
      resources: { cpuPeriod: 100000, cpuQuota: 150000, cpuShares: 307, memoryLimitInBytes: 384 * 1024 * 1024 },
    },
  };
}

/** What varies between the replayed containers. */
export interface ContainerSpec {
  name: string;
  attempt: number;
  script: string;
  workingDir: string;
  env: Record<string, string>;
  /** kubelet's container hash (hex of the spec's hash). */
  hash: string;
  cpuQuota: number;
  cpuShares: number;
  memoryLimit: number;
}

/** kubelet's default masked and read-only paths (securitycontext's defaults). */
export const MASKED_PATHS = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Labels kubelet puts on a container. */
export function containerLabels(pod: KubeletPod, name: string): Record<string, string> {
  return { 'io.kubernetes.container.name': name, 'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace, 'io.kubernetes.pod.uid': pod.uid };
}

/** Annotations kubelet puts on a container. */
export function containerAnnotations(spec: ContainerSpec): Record<string, string> {
  return {
    'io.kubernetes.container.hash': spec.hash,
    'io.kubernetes.container.restartCount': String(spec.attempt),
    'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
    'io.kubernetes.container.terminationMessagePolicy': 'File',
    'io.kubernetes.pod.terminationGracePeriod': '30',
  };
}

/**
 * The ContainerConfig kubelet builds: image.image is the image id EnsureImageExists returned,
 * user_specified_image the name in the pod spec; mounts are the volumes, then /etc/hosts and the
 * termination log (kubelet's order); log_path `<name>/<attempt>.log` under the pod's log directory.
 */
export function containerConfig(pod: KubeletPod, spec: ContainerSpec, imageId: string, imageName: string): runtime.v1.IContainerConfig {
  const PRIVATE = runtime.v1.MountPropagation.PROPAGATION_PRIVATE;
  return {
    metadata: { name: spec.name, attempt: spec.attempt },
    image: { image: imageId, userSpecifiedImage: imageName, annotations: {} },
    command: ['/bin/sh'],
    args: ['-c', spec.script],
    workingDir: spec.workingDir,
    envs: [
      ...Object.entries(spec.env).map(([key, value]) => ({ key, value })),
      { key: 'KUBERNETES_SERVICE_HOST', value: '10.96.0.1' },
      { key: 'KUBERNETES_SERVICE_PORT', value: '443' },
      { key: 'KUBERNETES_PORT', value: 'tcp://10.96.0.1:443' },
    ],
    mounts: [
      { containerPath: '/data', hostPath: pod.hostPathDir, readonly: false, propagation: PRIVATE },
      { containerPath: '/work', hostPath: pod.emptyDir, readonly: false, propagation: PRIVATE },
      { containerPath: '/var/run/secrets/kubernetes.io/serviceaccount', hostPath: pod.projectedDir, readonly: true, propagation: PRIVATE },
      // A projected token mounted as a single read-only file (a subPath mount).
      { containerPath: '/var/run/secrets/tokens/vault-token', hostPath: path.join(pod.projectedDir, 'token'), readonly: true, propagation: PRIVATE },
      { containerPath: '/etc/hosts', hostPath: pod.etcHosts, readonly: false, propagation: PRIVATE },
      { containerPath: '/dev/termination-log', hostPath: terminationLogPath(pod, spec.name), readonly: false, propagation: PRIVATE },
    ],
    devices: [],
    labels: containerLabels(pod, spec.name),
    annotations: containerAnnotations(spec),
    logPath: `${spec.name}/${spec.attempt}.log`,
    stdin: false,
    stdinOnce: false,
    tty: false,
    linux: {
      resources: {
        cpuPeriod: 100000,
        cpuQuota: spec.cpuQuota,
        cpuShares: spec.cpuShares,
        memoryLimitInBytes: spec.memoryLimit,
        memorySwapLimitInBytes: spec.memoryLimit,
        oomScoreAdj: 968,
        hugepageLimits: [],
        unified: {},
      },
      securityContext: {
        namespaceOptions: { network: runtime.v1.NamespaceMode.POD, pid: runtime.v1.NamespaceMode.CONTAINER, ipc: runtime.v1.NamespaceMode.POD },
        seccomp: { profileType: runtime.v1.SecurityProfile.ProfileType.RuntimeDefault },
        maskedPaths: MASKED_PATHS,
        readonlyPaths: READONLY_PATHS,
        privileged: false,
        readonlyRootfs: false,
        noNewPrivs: false,
      },
    },
  };
}

/** One parsed CRI log line (`<RFC 3339 nano> <stream> <P|F> <text>`). */
export interface CriLogLine {
  time: Date;
  timestamp: string;
  stream: string;
  tag: string;
  text: string;
}

const CRI_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) (P|F) (.*)$/;

/** Parses a CRI log file; throws on the first line that is not CRI format. */
export function readCriLog(file: string): CriLogLine[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    const m = CRI_LINE.exec(line);
    if (!m) throw new Error(`${file}:${i + 1} is not a CRI log line: ${JSON.stringify(line)}`);
    return { time: new Date(m[1]), timestamp: m[1], stream: m[2], tag: m[3], text: m[4] };
  });
}

/** Polls `probe` every 100 ms until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** ContainerStatus of `containerId` (the status field). */
export async function containerStatusOf(client: CriClient, containerId: string): Promise<runtime.v1.IContainerStatus> {
  return (await client.containerStatus({ containerId })).status!;
}

/** Polls ContainerStatus until the container is in `state`; returns that status. */
export function waitContainerState(client: CriClient, containerId: string, state: number): Promise<runtime.v1.IContainerStatus> {
  return waitFor(`container ${containerId} in state ${state}`, async () => {
    const s = await containerStatusOf(client, containerId);
    return s.state === state ? s : undefined;
  });
}
