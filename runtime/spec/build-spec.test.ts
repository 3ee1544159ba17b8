import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { buildContainerSpec } from './build-spec';
import { ALL_LINUX_CAPABILITIES, DEFAULT_CAPABILITIES } from './capabilities';
import type { SpecBuildInput } from './inputs';
import type { OciSpec } from './oci-types';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './security-paths';
import { specInput } from '../testing/spec-fixtures';

interface Row {
  name: string;
  patch: (i: SpecBuildInput) => void;
  expect: (spec: OciSpec) => void;
}

const mountAt = (s: OciSpec, dest: string) => s.mounts.filter((m) => m.destination === dest);
const env = (s: OciSpec) => Object.fromEntries(s.process.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

const rows: Row[] = [
  // process: argv
  { name: 'image ENTRYPOINT + CMD when the config sets neither', patch: (i) => (i.image.config = { Entrypoint: ['/ep'], Cmd: ['a', 'b'] }), expect: (s) => expect(s.process.args).to.deep.equal(['/ep', 'a', 'b']) },
  { name: 'command replaces ENTRYPOINT and drops CMD', patch: (i) => ((i.image.config = { Entrypoint: ['/ep'], Cmd: ['a'] }), (i.config.command = ['/bin/x'])), expect: (s) => expect(s.process.args).to.deep.equal(['/bin/x']) },
  { name: 'args replace CMD and keep ENTRYPOINT', patch: (i) => ((i.image.config = { Entrypoint: ['/ep'], Cmd: ['a'] }), (i.config.args = ['z'])), expect: (s) => expect(s.process.args).to.deep.equal(['/ep', 'z']) },
  { name: 'command + args', patch: (i) => ((i.image.config = { Entrypoint: ['/ep'], Cmd: ['a'] }), (i.config.command = ['/c']), (i.config.args = ['1', '2'])), expect: (s) => expect(s.process.args).to.deep.equal(['/c', '1', '2']) },
  { name: 'CMD alone (null ENTRYPOINT)', patch: (i) => (i.image.config = { Entrypoint: null, Cmd: ['sh', '-c', 'true'] }), expect: (s) => expect(s.process.args).to.deep.equal(['sh', '-c', 'true']) },
  { name: 'image config with explicit nulls', patch: (i) => (i.image.config = { Env: null, Entrypoint: null, Cmd: ['x'], WorkingDir: null, User: null }), expect: (s) => (expect(s.process.args).to.deep.equal(['x']), expect(s.process.cwd).to.equal('/')) },
  // process: env
  { name: 'image env first, config overrides in place, config adds after', patch: (i) => ((i.image.config.Env = ['A=1', 'B=2']), (i.config.envs = [{ key: 'A', value: 'x' }, { key: 'C', value: '3' }])), expect: (s) => expect(s.process.env.slice(0, 3)).to.deep.equal(['A=x', 'B=2', 'C=3']) },
  { name: 'PATH default when the image has none', patch: (i) => (i.image.config.Env = []), expect: (s) => expect(env(s).PATH).to.equal('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin') },
  { name: 'HOSTNAME and HOME set', patch: () => {}, expect: (s) => expect(env(s)).to.include({ HOSTNAME: 'web-host', HOME: '/root' }) },
  { name: 'HOME from the config wins', patch: (i) => (i.config.envs = [{ key: 'HOME', value: '/h' }]), expect: (s) => expect(env(s).HOME).to.equal('/h') },
  { name: 'value with "=" survives', patch: (i) => (i.config.envs = [{ key: 'Q', value: 'a=b=c' }]), expect: (s) => expect(env(s).Q).to.equal('a=b=c') },
  // process: cwd, tty
  { name: 'cwd from the image', patch: (i) => (i.image.config.WorkingDir = '/srv'), expect: (s) => expect(s.process.cwd).to.equal('/srv') },
  { name: 'cwd from the config wins', patch: (i) => ((i.image.config.WorkingDir = '/srv'), (i.config.workingDir = '/w')), expect: (s) => expect(s.process.cwd).to.equal('/w') },
  { name: 'cwd defaults to /', patch: () => {}, expect: (s) => expect(s.process.cwd).to.equal('/') },
  { name: 'tty sets terminal and TERM', patch: (i) => (i.config.tty = true), expect: (s) => (expect(s.process.terminal).to.equal(true), expect(env(s).TERM).to.equal('xterm')) },
  { name: 'no tty: no TERM', patch: () => {}, expect: (s) => (expect(s.process.terminal).to.equal(false), expect(env(s)).to.not.have.property('TERM')) },
  { name: 'rlimits from defaults', patch: () => {}, expect: (s) => expect(s.process.rlimits).to.deep.equal([{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }]) },
  // oom_score_adj
  { name: 'oom_score_adj passes when above the floor', patch: (i) => ((i.config.resources = { oomScoreAdj: 500 }), (i.defaults.oomScoreAdjFloor = 0)), expect: (s) => expect(s.process.oomScoreAdj).to.equal(500) },
  { name: 'oom_score_adj below the floor is clamped', patch: (i) => ((i.config.resources = { oomScoreAdj: -998 }), (i.defaults.oomScoreAdjFloor = 0)), expect: (s) => expect(s.process.oomScoreAdj).to.equal(0) },
  { name: 'oom_score_adj unset stays unset', patch: () => {}, expect: (s) => expect(s.process).to.not.have.property('oomScoreAdj') },
  // user
  { name: 'root: additionalGids is just the primary gid', patch: () => {}, expect: (s) => expect(s.process.user).to.deep.equal({ uid: 0, gid: 0, additionalGids: [0] }) },
  { name: 'user uid/gid/groups', patch: (i) => (i.user = { uid: 1000, gid: 1000, additionalGids: [1000, 10, 20] }), expect: (s) => expect(s.process.user).to.deep.equal({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 20] }) },
  // capabilities
  { name: 'default capabilities', patch: () => {}, expect: (s) => expect([...s.process.capabilities!.bounding].sort()).to.deep.equal([...DEFAULT_CAPABILITIES].sort()) },
  { name: 'add NET_ADMIN (short spelling)', patch: (i) => (i.config.security.capabilities = { add: ['NET_ADMIN'] }), expect: (s) => expect(s.process.capabilities!.effective).to.include('CAP_NET_ADMIN') },
  { name: 'drop CAP_KILL (long spelling)', patch: (i) => (i.config.security.capabilities = { drop: ['CAP_KILL'] }), expect: (s) => expect(s.process.capabilities!.permitted).to.not.include('CAP_KILL') },
  { name: 'drop ALL add NET_RAW = only NET_RAW', patch: (i) => (i.config.security.capabilities = { drop: ['ALL'], add: ['NET_RAW'] }), expect: (s) => expect(s.process.capabilities!.bounding).to.deep.equal(['CAP_NET_RAW']) },
  { name: 'add ALL drop SYS_ADMIN', patch: (i) => (i.config.security.capabilities = { add: ['ALL'], drop: ['SYS_ADMIN'] }), expect: (s) => (expect(s.process.capabilities!.bounding).to.have.length(ALL_LINUX_CAPABILITIES.length - 1), expect(s.process.capabilities!.bounding).to.not.include('CAP_SYS_ADMIN')) },
  { name: 'privileged gets every capability', patch: (i) => (i.config.security.privileged = true), expect: (s) => expect(s.process.capabilities!.bounding).to.deep.equal([...ALL_LINUX_CAPABILITIES]) },
  { name: 'inheritable and ambient stay empty', patch: (i) => (i.config.security.capabilities = { add: ['ALL'] }), expect: (s) => (expect(s.process.capabilities!.inheritable).to.deep.equal([]), expect(s.process.capabilities!.ambient).to.deep.equal([])) },
  // no_new_privs, readonly rootfs
  { name: 'no_new_privs', patch: (i) => (i.config.security.noNewPrivs = true), expect: (s) => expect(s.process.noNewPrivileges).to.equal(true) },
  { name: 'no_new_privs off by default', patch: () => {}, expect: (s) => expect(s.process.noNewPrivileges).to.equal(false) },
  { name: 'readonly rootfs, pod files read-only too', patch: (i) => (i.config.security.readonlyRootfs = true), expect: (s) => (expect(s.root).to.deep.equal({ path: 'rootfs', readonly: true }), expect(mountAt(s, '/etc/hosts')[0].options).to.include('ro')) },
  { name: 'writable rootfs by default', patch: () => {}, expect: (s) => (expect(s.root.readonly).to.equal(false), expect(mountAt(s, '/etc/hosts')[0].options).to.not.include('ro')) },
  // masked / readonly paths
  { name: 'default masked and readonly paths', patch: () => {}, expect: (s) => (expect(s.linux.maskedPaths).to.deep.equal([...DEFAULT_MASKED_PATHS]), expect(s.linux.readonlyPaths).to.deep.equal([...DEFAULT_READONLY_PATHS])) },
  { name: 'config masked paths replace the defaults', patch: (i) => ((i.config.security.maskedPaths = ['/proc/x']), (i.config.security.readonlyPaths = [])), expect: (s) => (expect(s.linux.maskedPaths).to.deep.equal(['/proc/x']), expect(s.linux.readonlyPaths).to.deep.equal([])) },
  { name: 'privileged: no masked/readonly paths, rw /sys, all devices allowed', patch: (i) => (i.config.security.privileged = true), expect: (s) => (expect(s.linux.maskedPaths).to.deep.equal([]), expect(s.linux.readonlyPaths).to.deep.equal([]), expect(mountAt(s, '/sys')[0].options).to.include('rw'), expect(s.linux.resources!.devices).to.deep.equal([{ allow: true, access: 'rwm' }])) },
  { name: 'unprivileged /sys is ro', patch: () => {}, expect: (s) => expect(mountAt(s, '/sys')[0].options).to.include('ro') },
  // seccomp
  { name: 'seccomp unset = unconfined', patch: () => {}, expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  { name: 'seccomp RuntimeDefault denies with EPERM and allows read', patch: (i) => (i.config.security.seccomp = { type: 'RuntimeDefault' }), expect: (s) => (expect(s.linux.seccomp!.defaultAction).to.equal('SCMP_ACT_ERRNO'), expect(s.linux.seccomp!.syscalls![0].names).to.include('read'), expect(s.linux.seccomp!.syscalls![0].names).to.not.include('mount')) },
  { name: 'RuntimeDefault with SYS_ADMIN allows mount', patch: (i) => ((i.config.security.seccomp = { type: 'RuntimeDefault' }), (i.config.security.capabilities = { add: ['SYS_ADMIN'] })), expect: (s) => expect(s.linux.seccomp!.syscalls![0].names).to.include('mount') },
  { name: 'RuntimeDefault without SYS_ADMIN masks clone namespace flags', patch: (i) => (i.config.security.seccomp = { type: 'RuntimeDefault' }), expect: (s) => expect(s.linux.seccomp!.syscalls!.find((r) => r.names.includes('clone'))!.args![0].op).to.equal('SCMP_CMP_MASKED_EQ') },
  { name: 'seccomp Localhost uses the loaded profile', patch: (i) => ((i.config.security.seccomp = { type: 'Localhost', localhostRef: '/p.json' }), (i.localhostSeccompProfile = { defaultAction: 'SCMP_ACT_LOG' })), expect: (s) => expect(s.linux.seccomp).to.deep.equal({ defaultAction: 'SCMP_ACT_LOG' }) },
  { name: 'privileged ignores RuntimeDefault', patch: (i) => ((i.config.security.seccomp = { type: 'RuntimeDefault' }), (i.config.security.privileged = true)), expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  { name: 'no seccomp on the host: RuntimeDefault skipped', patch: (i) => ((i.config.security.seccomp = { type: 'RuntimeDefault' }), (i.defaults.seccompAvailable = false)), expect: (s) => expect(s.linux).to.not.have.property('seccomp') },
  // namespaces
  { name: 'joins pod net/ipc/uts, new mount + pid', patch: () => {}, expect: (s) => expect(s.linux.namespaces).to.deep.equal([{ type: 'mount' }, { type: 'network', path: '/run/berth/ns/net/pod1' }, { type: 'ipc', path: '/run/berth/ns/ipc/pod1' }, { type: 'uts', path: '/run/berth/ns/uts/pod1' }, { type: 'pid' }]) },
  { name: 'pid POD joins the pinned pid ns', patch: (i) => ((i.sandbox.namespacePaths.pid = '/run/berth/ns/pid/pod1'), (i.config.security.pidMode = 'POD')), expect: (s) => expect(s.linux.namespaces).to.deep.include({ type: 'pid', path: '/run/berth/ns/pid/pod1' }) },
  { name: 'no pid mode from a direct caller: a pid namespace of its own', patch: (i) => delete i.config.security.pidMode, expect: (s) => expect(s.linux.namespaces).to.deep.include({ type: 'pid' }) },
  { name: 'pid NODE: no pid entry', patch: (i) => (i.config.security.pidMode = 'NODE'), expect: (s) => expect(s.linux.namespaces.map((n) => n.type)).to.not.include('pid') },
  { name: 'pid TARGET joins the target process', patch: (i) => ((i.config.security.pidMode = 'TARGET'), (i.targetPid = 4242)), expect: (s) => expect(s.linux.namespaces).to.deep.include({ type: 'pid', path: '/proc/4242/ns/pid' }) },
  { name: 'host network pod: no network entry', patch: (i) => delete i.sandbox.namespacePaths.net, expect: (s) => expect(s.linux.namespaces.map((n) => n.type)).to.not.include('network') },
  { name: 'cgroup v2 adds a cgroup namespace', patch: (i) => (i.defaults.cgroupVersion = 2), expect: (s) => expect(s.linux.namespaces).to.deep.include({ type: 'cgroup' }) },
  // mounts
  { name: 'pod files and shm are bound', patch: () => {}, expect: (s) => (expect(mountAt(s, '/etc/resolv.conf')[0].source).to.equal('/var/lib/berth/pods/pod1/resolv.conf'), expect(mountAt(s, '/etc/hostname')[0].type).to.equal('bind'), expect(mountAt(s, '/dev/shm')[0].source).to.equal('/run/berth/pods/pod1/shm')) },
  { name: 'no pod shm: private tmpfs', patch: (i) => delete i.sandbox.shmPath, expect: (s) => expect(mountAt(s, '/dev/shm')[0].type).to.equal('tmpfs') },
  { name: 'bind mount private rw', patch: (i) => (i.config.mounts = [{ containerPath: '/data', hostPath: '/srv/d', readonly: false, propagation: 'private' }]), expect: (s) => expect(mountAt(s, '/data')[0]).to.deep.equal({ destination: '/data', type: 'bind', source: '/srv/d', options: ['rbind', 'rprivate'] }) },
  { name: 'bind mount readonly rslave sets rootfs propagation', patch: (i) => (i.config.mounts = [{ containerPath: '/d', hostPath: '/h', readonly: true, propagation: 'host-to-container' }]), expect: (s) => (expect(mountAt(s, '/d')[0].options).to.deep.equal(['rbind', 'rslave', 'ro']), expect(s.linux.rootfsPropagation).to.equal('rslave')) },
  { name: 'bidirectional → rshared', patch: (i) => (i.config.mounts = [{ containerPath: '/d', hostPath: '/h', readonly: false, propagation: 'bidirectional' }]), expect: (s) => (expect(mountAt(s, '/d')[0].options).to.include('rshared'), expect(s.linux.rootfsPropagation).to.equal('rshared')) },
  { name: 'recursive read-only → rro', patch: (i) => (i.config.mounts = [{ containerPath: '/d', hostPath: '/h', readonly: true, propagation: 'private', recursiveReadOnly: true }]), expect: (s) => expect(mountAt(s, '/d')[0].options).to.deep.equal(['rbind', 'rprivate', 'rro']) },
  { name: 'a config mount on /etc/hosts replaces the pod file', patch: (i) => (i.config.mounts = [{ containerPath: '/etc/hosts', hostPath: '/mine', readonly: false, propagation: 'private' }]), expect: (s) => (expect(mountAt(s, '/etc/hosts')).to.have.length(1), expect(mountAt(s, '/etc/hosts')[0].source).to.equal('/mine')) },
  { name: 'config mounts sorted parent first', patch: (i) => (i.config.mounts = [{ containerPath: '/a/b', hostPath: '/x', readonly: false, propagation: 'private' }, { containerPath: '/a', hostPath: '/y', readonly: false, propagation: 'private' }]), expect: (s) => expect(s.mounts.map((m) => m.destination).filter((d) => d.startsWith('/a'))).to.deep.equal(['/a', '/a/b']) },
  { name: 'default mounts present', patch: () => {}, expect: (s) => expect(s.mounts.map((m) => m.destination)).to.include.members(['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/sys', '/sys/fs/cgroup']) },
  // devices
  { name: 'requested device node and cgroup allow rule', patch: (i) => (i.devices = [{ containerPath: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0, permissions: 'rw' }]), expect: (s) => (expect(s.linux.devices).to.deep.equal([{ type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]), expect(s.linux.resources!.devices).to.deep.equal([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }])) },
  { name: 'privileged gets the host devices', patch: (i) => ((i.config.security.privileged = true), (i.hostDevices = [{ containerPath: '/dev/loop0', type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6, permissions: 'rwm' }])), expect: (s) => expect(s.linux.devices!.map((d) => d.path)).to.deep.equal(['/dev/loop0']) },
  // resources & cgroups
  { name: 'cgroupsPath under the pod parent (cgroupfs)', patch: () => {}, expect: (s) => expect(s.linux.cgroupsPath).to.equal('/kubepods/besteffort/poduid-1/berth-c0ffee') },
  { name: 'cgroupsPath without a parent', patch: (i) => (i.sandbox.cgroupParent = ''), expect: (s) => expect(s.linux.cgroupsPath).to.equal('/berth/berth-c0ffee') },
  { name: 'cgroupsPath systemd form', patch: (i) => ((i.defaults.cgroupDriver = 'systemd'), (i.sandbox.cgroupParent = 'kubepods-besteffort-poduid.slice')), expect: (s) => expect(s.linux.cgroupsPath).to.equal('kubepods-besteffort-poduid.slice:berth:c0ffee') },
  { name: 'cpu shares/quota/period/cpuset', patch: (i) => (i.config.resources = { cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, cpusetCpus: '0-1', cpusetMems: '0' }), expect: (s) => expect(s.linux.resources!.cpu).to.deep.equal({ shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' }) },
  { name: 'memory limit disables swap by default', patch: (i) => (i.config.resources = { memoryLimitInBytes: 64 << 20 }), expect: (s) => expect(s.linux.resources!.memory).to.deep.equal({ limit: 64 << 20, swap: 64 << 20 }) },
  { name: 'memory swap limit honoured', patch: (i) => (i.config.resources = { memoryLimitInBytes: 64 << 20, memorySwapLimitInBytes: 128 << 20 }), expect: (s) => expect(s.linux.resources!.memory!.swap).to.equal(128 << 20) },
  { name: 'no swap accounting: no swap field', patch: (i) => ((i.config.resources = { memoryLimitInBytes: 64 << 20 }), (i.defaults.swapAccounting = false)), expect: (s) => expect(s.linux.resources!.memory).to.deep.equal({ limit: 64 << 20 }) },
  { name: 'hugepages', patch: (i) => (i.config.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] }), expect: (s) => expect(s.linux.resources!.hugepageLimits).to.deep.equal([{ pageSize: '2MB', limit: 4194304 }]) },
  { name: 'unified on v2', patch: (i) => ((i.defaults.cgroupVersion = 2), (i.config.resources = { unified: { 'memory.high': '1000000' } })), expect: (s) => expect(s.linux.resources!.unified).to.deep.equal({ 'memory.high': '1000000' }) },
  { name: 'no resources: only the device rules', patch: () => {}, expect: (s) => expect(Object.keys(s.linux.resources!)).to.deep.equal(['devices']) },
  // annotations
  { name: 'annotations: config + berth ones', patch: (i) => (i.config.annotations = { a: 'b' }), expect: (s) => expect(s.annotations).to.include({ a: 'b', 'io.kubernetes.cri.sandbox-id': 'pod1', 'io.kubernetes.cri.container-name': 'app', 'io.kubernetes.cri.container-type': 'container' }) },
];

interface ErrorRow {
  name: string;
  patch: (i: SpecBuildInput) => void;
  message: RegExp;
}

const errorRows: ErrorRow[] = [
  { name: 'no command anywhere', patch: (i) => (i.image.config = {}), message: /no command/ },
  { name: 'unknown capability', patch: (i) => (i.config.security.capabilities = { add: ['FLY'] }), message: /unknown capability "FLY"/ },
  { name: 'relative working dir', patch: (i) => (i.config.workingDir = 'srv'), message: /working_dir/ },
  { name: 'relative mount container path', patch: (i) => (i.config.mounts = [{ containerPath: 'd', hostPath: '/h', readonly: false, propagation: 'private' }]), message: /container_path/ },
  { name: 'relative mount host path', patch: (i) => (i.config.mounts = [{ containerPath: '/d', hostPath: 'h', readonly: false, propagation: 'private' }]), message: /host_path/ },
  { name: 'rro unsupported', patch: (i) => ((i.defaults.recursiveReadOnlySupported = false), (i.config.mounts = [{ containerPath: '/d', hostPath: '/h', readonly: true, propagation: 'private', recursiveReadOnly: true }])), message: /not supported/ },
  { name: 'rro without readonly', patch: (i) => (i.config.mounts = [{ containerPath: '/d', hostPath: '/h', readonly: false, propagation: 'private', recursiveReadOnly: true }]), message: /needs readonly/ },
  { name: 'Localhost seccomp without ref', patch: (i) => (i.config.security.seccomp = { type: 'Localhost' }), message: /localhost_ref/ },
  { name: 'Localhost seccomp not loaded', patch: (i) => (i.config.security.seccomp = { type: 'Localhost', localhostRef: '/x' }), message: /not loaded/ },
  { name: 'Localhost seccomp garbage', patch: (i) => ((i.config.security.seccomp = { type: 'Localhost', localhostRef: '/x' }), (i.localhostSeccompProfile = [1])), message: /not a JSON object/ },
  { name: 'unified on v1', patch: (i) => (i.config.resources = { unified: { 'memory.high': '1' } }), message: /cgroup v2/ },
  { name: 'bad hugepage size', patch: (i) => (i.config.resources = { hugepageLimits: [{ pageSize: '2M', limit: 1 }] }), message: /page_size/ },
  { name: 'swap below limit', patch: (i) => (i.config.resources = { memoryLimitInBytes: 100, memorySwapLimitInBytes: 50 }), message: /swap/ },
  { name: 'TARGET without pid', patch: (i) => (i.config.security.pidMode = 'TARGET'), message: /TARGET/ },
  { name: 'bad device permissions', patch: (i) => (i.devices = [{ containerPath: '/dev/x', type: 'c', major: 1, minor: 1, fileMode: 0o600, uid: 0, gid: 0, permissions: 'rwx' }]), message: /permissions/ },
  { name: 'empty env key', patch: (i) => (i.config.envs = [{ key: '', value: 'v' }]), message: /empty key/ },
  { name: 'env key with =', patch: (i) => (i.config.envs = [{ key: 'A=B', value: 'v' }]), message: /config\.envs/ },
  { name: 'env value with NUL', patch: (i) => (i.config.envs = [{ key: 'A', value: 'x\0y' }]), message: /config\.envs/ },
  { name: 'argv with NUL', patch: (i) => (i.config.command = ['sh\0x']), message: /NUL/ },
  { name: 'mount container path with ..', patch: (i) => (i.config.mounts = [{ containerPath: '/x/../../etc', hostPath: '/h', readonly: false, propagation: 'private' }]), message: /container_path.*"\.\." segments/ },
  { name: 'negative memory limit', patch: (i) => (i.config.resources = { memoryLimitInBytes: -1 }), message: /memory_limit_in_bytes is negative/ },
  { name: 'absurd cpu shares', patch: (i) => (i.config.resources = { cpuShares: 1e12 }), message: /cpu_shares/ },
  { name: 'negative cpu quota', patch: (i) => (i.config.resources = { cpuQuota: -7 }), message: /cpu_quota/ },
  { name: 'cpu period above 1 s', patch: (i) => (i.config.resources = { cpuPeriod: 5_000_000 }), message: /cpu_period/ },
  { name: 'oom_score_adj beyond 1000', patch: (i) => (i.config.resources = { oomScoreAdj: 5000 }), message: /oom_score_adj/ },
  { name: 'empty name', patch: (i) => (i.config.name = ''), message: /metadata.name/ },
];

describe('runtime/spec buildContainerSpec', () => {
  for (const row of rows) {
    it(row.name, () => {
      row.expect(buildContainerSpec(specInput(row.patch), 'x64'));
    });
  }
  for (const row of errorRows) {
    it(`refuses: ${row.name}`, () => {
      const input = specInput(row.patch);
      expect(() => buildContainerSpec(input, 'x64')).to.throw(InvalidArgumentError, row.message);
    });
  }
  it('is pure: the same input gives the same spec and the input is not modified', () => {
    const input = specInput((i) => (i.config.security.seccomp = { type: 'RuntimeDefault' }));
    const before = JSON.stringify(input);
    expect(buildContainerSpec(input, 'x64')).to.deep.equal(buildContainerSpec(input, 'x64'));
    expect(JSON.stringify(input)).to.equal(before);
  });
});
