/**
 * Bad input, table-driven, through the real berthd socket: malformed requests to every unary RPC
 * (missing metadata, empty and unknown ids, bad image references, oversize fields, log paths with
 * `..`, sysctl injection, negative/absurd resources, relative mount paths, …). Each row checks the
 * gRPC code and that the message names the field; at the end nothing was created: List* hold only
 * the one valid pod the container rows need, no new dirs under root/run-root, no new mounts.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { isServiceError, type CriClient } from '../support/cri-client';
import { mountsUnder } from './support/berthd-cleanup';
import { podConfig, RestartableBerthd, TEST_IMAGE } from './reliability-support';

const { INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED } = grpcStatus;
const UNKNOWN_ID = 'f'.repeat(64);
const LONG = 'x'.repeat(5000);

interface Row {
  rpc: string;
  what: string;
  request: (ctx: { podId: string; pod: ReturnType<typeof podConfig> }) => Record<string, unknown>;
  code: number;
  /** The message must match (it names the field or the object). */
  message: RegExp;
}

let containerSeq = 0;
/** A CreateContainer request; every row gets its own name so rows never meet each other's reservation. */
const container = (pod: ReturnType<typeof podConfig>, podId: string, patch: Record<string, unknown>) => ({
  podSandboxId: podId,
  config: { metadata: { name: `bad-${++containerSeq}`, attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '1'], ...patch },
  sandboxConfig: pod,
});

function podWith(patch: Record<string, unknown>, metadata?: Record<string, unknown> | null) {
  return ({ pod }: { pod: ReturnType<typeof podConfig> }) => ({
    config: { ...pod, metadata: metadata === undefined ? { ...pod.metadata, name: `bad-pod-${++containerSeq}`, uid: 'uid-bad' } : metadata, ...patch },
  });
}

const ROWS: Row[] = [
  // RunPodSandbox
  { rpc: 'runPodSandbox', what: 'no config', request: () => ({}), code: INVALID_ARGUMENT, message: /config|metadata/ },
  { rpc: 'runPodSandbox', what: 'missing metadata', request: podWith({}, null), code: INVALID_ARGUMENT, message: /metadata/ },
  { rpc: 'runPodSandbox', what: 'empty name', request: podWith({}, { name: '', namespace: 'ns', uid: 'u' }), code: INVALID_ARGUMENT, message: /name/ },
  { rpc: 'runPodSandbox', what: 'empty namespace', request: podWith({}, { name: 'n', namespace: '', uid: 'u' }), code: INVALID_ARGUMENT, message: /namespace/ },
  { rpc: 'runPodSandbox', what: 'empty uid', request: podWith({}, { name: 'n', namespace: 'ns', uid: '' }), code: INVALID_ARGUMENT, message: /uid/ },
  { rpc: 'runPodSandbox', what: 'oversize name', request: podWith({}, { name: LONG, namespace: 'ns', uid: 'u' }), code: INVALID_ARGUMENT, message: /name/ },
  { rpc: 'runPodSandbox', what: 'name with a slash', request: podWith({}, { name: '../x', namespace: 'ns', uid: 'u' }), code: INVALID_ARGUMENT, message: /name/ },
  { rpc: 'runPodSandbox', what: 'oversize hostname', request: podWith({ hostname: LONG }), code: INVALID_ARGUMENT, message: /hostname/ },
  { rpc: 'runPodSandbox', what: 'relative log_directory with ..', request: podWith({ logDirectory: '../../etc' }), code: INVALID_ARGUMENT, message: /log_directory/ },
  { rpc: 'runPodSandbox', what: 'log_directory with ..', request: podWith({ logDirectory: '/var/log/pods/../../../etc' }), code: INVALID_ARGUMENT, message: /log_directory/ },
  { rpc: 'runPodSandbox', what: 'sysctl value injection', request: podWith({ linux: { sysctls: { 'net.ipv4.ip_forward': '1\nkernel.x=1' } } }), code: INVALID_ARGUMENT, message: /sysctl/ },
  { rpc: 'runPodSandbox', what: 'sysctl name injection', request: podWith({ linux: { sysctls: { 'net.ipv4.ip_forward=1\nkernel.x': '1' } } }), code: INVALID_ARGUMENT, message: /sysctl/ },
  { rpc: 'runPodSandbox', what: 'non-namespaced sysctl', request: podWith({ linux: { sysctls: { 'kernel.panic': '1' } } }), code: INVALID_ARGUMENT, message: /sysctl/ },
  { rpc: 'runPodSandbox', what: 'host port out of range', request: podWith({ portMappings: [{ containerPort: 80, hostPort: 70000 }] }), code: INVALID_ARGUMENT, message: /port/ },
  { rpc: 'runPodSandbox', what: 'negative container port', request: podWith({ portMappings: [{ containerPort: -1 }] }), code: INVALID_ARGUMENT, message: /port/ },
  { rpc: 'runPodSandbox', what: 'cgroup parent with ..', request: podWith({ linux: { cgroupParent: '/kubepods/../../x' } }), code: INVALID_ARGUMENT, message: /cgroup_parent/ },
  { rpc: 'runPodSandbox', what: 'dns server not an IP', request: podWith({ dnsConfig: { servers: ['evil\nnameserver 1.1.1.1'] } }), code: INVALID_ARGUMENT, message: /dns/ },
  { rpc: 'runPodSandbox', what: 'unknown runtime handler', request: (ctx) => ({ ...podWith({})(ctx), runtimeHandler: 'nope' }), code: INVALID_ARGUMENT, message: /handler/ },
  // Pod ids
  { rpc: 'stopPodSandbox', what: 'empty id', request: () => ({ podSandboxId: '' }), code: INVALID_ARGUMENT, message: /pod_sandbox_id/ },
  { rpc: 'removePodSandbox', what: 'empty id', request: () => ({ podSandboxId: '' }), code: INVALID_ARGUMENT, message: /pod_sandbox_id/ },
  { rpc: 'podSandboxStatus', what: 'empty id', request: () => ({ podSandboxId: '' }), code: INVALID_ARGUMENT, message: /pod_sandbox_id/ },
  { rpc: 'podSandboxStatus', what: 'unknown id', request: () => ({ podSandboxId: UNKNOWN_ID }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'podSandboxStats', what: 'unknown id', request: () => ({ podSandboxId: UNKNOWN_ID }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'portForward', what: 'empty id', request: () => ({ podSandboxId: '', port: [80] }), code: INVALID_ARGUMENT, message: /pod_sandbox_id/ },
  { rpc: 'portForward', what: 'unknown id', request: () => ({ podSandboxId: UNKNOWN_ID, port: [80] }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'portForward', what: 'port out of range', request: ({ podId }) => ({ podSandboxId: podId, port: [70000] }), code: INVALID_ARGUMENT, message: /port/ },
  // CreateContainer
  { rpc: 'createContainer', what: 'empty pod id', request: ({ pod }) => container(pod, '', {}), code: INVALID_ARGUMENT, message: /pod_sandbox_id/ },
  { rpc: 'createContainer', what: 'unknown pod id', request: ({ pod }) => container(pod, UNKNOWN_ID, {}), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'createContainer', what: 'no config', request: ({ podId }) => ({ podSandboxId: podId }), code: INVALID_ARGUMENT, message: /config|metadata/ },
  { rpc: 'createContainer', what: 'missing metadata', request: ({ pod, podId }) => container(pod, podId, { metadata: null }), code: INVALID_ARGUMENT, message: /metadata/ },
  { rpc: 'createContainer', what: 'oversize name', request: ({ pod, podId }) => container(pod, podId, { metadata: { name: LONG } }), code: INVALID_ARGUMENT, message: /name/ },
  { rpc: 'createContainer', what: 'empty image', request: ({ pod, podId }) => container(pod, podId, { image: { image: '' } }), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'createContainer', what: 'malformed image reference', request: ({ pod, podId }) => container(pod, podId, { image: { image: 'Bad Ref::x' } }), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'createContainer', what: 'image not present', request: ({ pod, podId }) => container(pod, podId, { image: { image: 'example.invalid/none:1' } }), code: NOT_FOUND, message: /example\.invalid\/none:1/ },
  { rpc: 'createContainer', what: 'log_path with ..', request: ({ pod, podId }) => container(pod, podId, { logPath: '../../../etc/cron.d/x' }), code: INVALID_ARGUMENT, message: /log_path/ },
  { rpc: 'createContainer', what: 'absolute log_path', request: ({ pod, podId }) => container(pod, podId, { logPath: '/etc/passwd' }), code: INVALID_ARGUMENT, message: /log_path/ },
  { rpc: 'createContainer', what: 'relative container path', request: ({ pod, podId }) => container(pod, podId, { mounts: [{ containerPath: 'etc', hostPath: '/tmp' }] }), code: INVALID_ARGUMENT, message: /container_path/ },
  { rpc: 'createContainer', what: 'container path with ..', request: ({ pod, podId }) => container(pod, podId, { mounts: [{ containerPath: '/x/../../etc', hostPath: '/tmp' }] }), code: INVALID_ARGUMENT, message: /container_path/ },
  { rpc: 'createContainer', what: 'relative host path', request: ({ pod, podId }) => container(pod, podId, { mounts: [{ containerPath: '/x', hostPath: 'tmp' }] }), code: INVALID_ARGUMENT, message: /host_path/ },
  { rpc: 'createContainer', what: 'host path with ..', request: ({ pod, podId }) => container(pod, podId, { mounts: [{ containerPath: '/x', hostPath: '/tmp/../etc' }] }), code: INVALID_ARGUMENT, message: /mounts\[0\]\.host_path/ },
  { rpc: 'createContainer', what: 'negative memory limit', request: ({ pod, podId }) => container(pod, podId, { linux: { resources: { memoryLimitInBytes: -5 } } }), code: INVALID_ARGUMENT, message: /memory/ },
  { rpc: 'createContainer', what: 'absurd cpu shares', request: ({ pod, podId }) => container(pod, podId, { linux: { resources: { cpuShares: 1e12 } } }), code: INVALID_ARGUMENT, message: /cpu_shares/ },
  { rpc: 'createContainer', what: 'negative cpu quota', request: ({ pod, podId }) => container(pod, podId, { linux: { resources: { cpuQuota: -7, cpuPeriod: 100000 } } }), code: INVALID_ARGUMENT, message: /cpu_quota/ },
  { rpc: 'createContainer', what: 'oom_score_adj out of range', request: ({ pod, podId }) => container(pod, podId, { linux: { resources: { oomScoreAdj: 5000 } } }), code: INVALID_ARGUMENT, message: /oom_score_adj/ },
  { rpc: 'createContainer', what: 'env with NUL', request: ({ pod, podId }) => container(pod, podId, { envs: [{ key: 'A\u0000B', value: '1' }] }), code: INVALID_ARGUMENT, message: /env/ },
  { rpc: 'createContainer', what: 'unknown capability', request: ({ pod, podId }) => container(pod, podId, { linux: { securityContext: { capabilities: { addCapabilities: ['FLY'] } } } }), code: INVALID_ARGUMENT, message: /capabilit/ },
  // Container ids
  ...(['startContainer', 'stopContainer', 'removeContainer', 'containerStatus', 'reopenContainerLog', 'containerStats'] as const).map(
    (rpc): Row => ({ rpc, what: 'empty id', request: () => ({ containerId: '' }), code: INVALID_ARGUMENT, message: /container_id/ }),
  ),
  ...(['startContainer', 'containerStatus', 'reopenContainerLog', 'containerStats'] as const).map(
    (rpc): Row => ({ rpc, what: 'unknown id', request: () => ({ containerId: UNKNOWN_ID }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) }),
  ),
  { rpc: 'execSync', what: 'empty id', request: () => ({ containerId: '', cmd: ['true'] }), code: INVALID_ARGUMENT, message: /container_id/ },
  { rpc: 'execSync', what: 'unknown id', request: () => ({ containerId: UNKNOWN_ID, cmd: ['true'] }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'execSync', what: 'empty cmd', request: () => ({ containerId: UNKNOWN_ID, cmd: [] }), code: INVALID_ARGUMENT, message: /cmd/ },
  { rpc: 'execSync', what: 'negative timeout', request: () => ({ containerId: UNKNOWN_ID, cmd: ['true'], timeout: -1 }), code: INVALID_ARGUMENT, message: /timeout/ },
  { rpc: 'exec', what: 'empty id', request: () => ({ containerId: '', cmd: ['sh'], stdout: true }), code: INVALID_ARGUMENT, message: /container_id/ },
  { rpc: 'exec', what: 'unknown id', request: () => ({ containerId: UNKNOWN_ID, cmd: ['sh'], stdout: true }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'exec', what: 'empty cmd', request: () => ({ containerId: UNKNOWN_ID, cmd: [], stdout: true }), code: INVALID_ARGUMENT, message: /cmd/ },
  { rpc: 'attach', what: 'empty id', request: () => ({ containerId: '', stdout: true }), code: INVALID_ARGUMENT, message: /container_id/ },
  { rpc: 'attach', what: 'unknown id', request: () => ({ containerId: UNKNOWN_ID, stdout: true }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'updateContainerResources', what: 'empty id', request: () => ({ containerId: '', linux: {} }), code: INVALID_ARGUMENT, message: /container_id/ },
  { rpc: 'updateContainerResources', what: 'unknown id', request: () => ({ containerId: UNKNOWN_ID, linux: { memoryLimitInBytes: 1 << 26 } }), code: NOT_FOUND, message: new RegExp(UNKNOWN_ID) },
  { rpc: 'updateContainerResources', what: 'negative memory', request: () => ({ containerId: UNKNOWN_ID, linux: { memoryLimitInBytes: -1 } }), code: INVALID_ARGUMENT, message: /memory/ },
  { rpc: 'stopContainer', what: 'negative timeout', request: () => ({ containerId: UNKNOWN_ID, timeout: -5 }), code: INVALID_ARGUMENT, message: /timeout/ },
  { rpc: 'checkpointContainer', what: 'unsupported', request: () => ({ containerId: UNKNOWN_ID }), code: UNIMPLEMENTED, message: /checkpoint/i },
  // Images
  { rpc: 'pullImage', what: 'no image', request: () => ({}), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'pullImage', what: 'empty image', request: () => ({ image: { image: '' } }), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'pullImage', what: 'malformed reference', request: () => ({ image: { image: 'UPPER/Case:tag' } }), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'pullImage', what: 'bad digest', request: () => ({ image: { image: 'busybox@sha256:123' } }), code: INVALID_ARGUMENT, message: /image|digest/ },
  { rpc: 'pullImage', what: 'oversize reference', request: () => ({ image: { image: `example.com/${'a'.repeat(300)}:1` } }), code: INVALID_ARGUMENT, message: /image|long/ },
  { rpc: 'pullImage', what: 'injection in tag', request: () => ({ image: { image: 'busybox:1\n2' } }), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'imageStatus', what: 'no image', request: () => ({}), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'imageStatus', what: 'malformed reference', request: () => ({ image: { image: 'Bad Ref::x' } }), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'removeImage', what: 'empty image', request: () => ({ image: { image: '' } }), code: INVALID_ARGUMENT, message: /image/ },
  { rpc: 'removeImage', what: 'malformed reference', request: () => ({ image: { image: 'Bad Ref::x' } }), code: INVALID_ARGUMENT, message: /image/ },
];

/** Directories under root/run-root, recursively to depth 3 (what a request could have created). */
function dirsUnder(b: RestartableBerthd): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      out.push(p);
      if (depth > 0) walk(p, depth - 1);
    }
  };
  walk(b.root, 2);
  walk(b.runRoot, 2);
  walk(b.logsDir, 2);
  return out.filter((p) => !p.startsWith(path.join(b.root, 'images'))).sort();
}

describe('e2e: bad input to every RPC through berthd', function () {
  this.timeout(120_000);
  let b: RestartableBerthd;
  let client: CriClient;
  let podId = '';
  let pod: ReturnType<typeof podConfig>;
  let dirsBefore: string[] = [];
  let mountsBefore: string[] = [];

  before(async () => {
    b = await RestartableBerthd.create('berth-badinput');
    await b.start();
    client = b.client();
    await client.pullImage({ image: { image: TEST_IMAGE } });
    pod = podConfig(b, 'valid');
    podId = (await client.runPodSandbox({ config: pod })).podSandboxId!;
    dirsBefore = dirsUnder(b);
    mountsBefore = mountsUnder(b.dir);
  });
  after(async () => {
    await b?.destroy();
  });

  for (const row of ROWS) {
    it(`${row.rpc}: ${row.what} → ${grpcStatus[row.code]}`, async () => {
      const call = (client as unknown as Record<string, (req: unknown, o?: unknown) => Promise<unknown>>)[row.rpc];
      expect(call, `client has ${row.rpc}`).to.be.a('function');
      const err = await call(row.request({ podId, pod }), { timeoutMs: 30_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the call must fail').to.not.equal(undefined);
      if (!isServiceError(err)) throw err;
      expect({ code: grpcStatus[err.code], message: err.details }).to.deep.include({ code: grpcStatus[row.code] });
      expect(err.details).to.match(row.message);
    });
  }

  it('nothing was created: one pod, no containers, no new dirs or mounts', async () => {
    expect((await client.listPodSandbox({})).items!.map((p) => p.id)).to.deep.equal([podId]);
    expect((await client.listContainers({})).containers).to.deep.equal([]);
    expect((await client.listImages({})).images).to.have.length(1);
    expect(dirsUnder(b)).to.deep.equal(dirsBefore);
    expect(mountsUnder(b.dir)).to.deep.equal(mountsBefore);
  });
});
