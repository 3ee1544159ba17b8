/**
 * PodManager as root with the real native addon (pause, mounts, pidfd), the real CniManager and
 * Debian's CNI plugins: what a pod looks like in the OS, and that Stop/Remove take it all away.
 */
import { expect } from 'chai';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { NamespaceMode, Protocol } from '../../pod/types';
import { fetchTcp, run } from './cni-support';
import { CLEAN, createPodEnv, destroyPodEnv, leftovers, newPodManager, PodEnv, podConfig, processAlive } from './pod-support';

/** Starts a TCP server inside the netns pinned at `netnsPath`; it answers "hello\n". */
async function serverInNetns(netnsPath: string, port: number): Promise<ChildProcess> {
  const code = `require('net').createServer(s=>s.end('hello\\n')).listen(${port},'0.0.0.0',()=>console.log('up'))`;
  const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`server in ${netnsPath} exited with ${c}`)));
    child.stdout!.once('data', () => resolve());
  });
  return child;
}

function statusField(pid: number, field: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').slice(field.length + 1).trim();
}

describe('e2e: pod sandboxes with the real pause, CNI plugins and namespaces', function () {
  this.timeout(60_000);
  let env: PodEnv;
  const servers: ChildProcess[] = [];

  before(async () => {
    env = await createPodEnv();
  });
  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await destroyPodEnv(env);
  });

  it('runs a pod whose IP answers from the host and whose hostPort answers on 127.0.0.1', async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 10000);
    const id = await env.pods.runPodSandbox(
      podConfig(`net-${env.names.suffix}`, { portMappings: [{ containerPort: 8080, hostPort, protocol: Protocol.TCP }] }),
      '',
    );
    const status = env.pods.podSandboxStatus(id);
    env.pausePids.add(status.verbose.pausePid!);
    expect(status.state).to.equal('ready');
    const ip = status.ips[0]!;
    expect(ip.startsWith(env.names.prefix3)).to.equal(true, `${ip} not in ${env.names.subnet}`);
    servers.push(await serverInNetns(status.namespacePaths.net!, 8080));
    expect(await fetchTcp(ip, 8080)).to.equal('hello\n');
    expect(await fetchTcp('127.0.0.1', hostPort)).to.equal('hello\n');
    // The step timings are reported (verbose info) for every step.
    expect(Object.keys(status.verbose.stepTimingsMs)).to.have.members(['files', 'shm', 'cgroup', 'netns', 'pause', 'pin', 'cni', 'state']);
    // lo came up with the netns (no loopback plugin), and pause holds that very namespace.
    const inPod = (...argv: string[]): string => execFileSync('nsenter', [`--net=${status.namespacePaths.net!}`, ...argv]).toString();
    expect(inPod('ip', '-o', 'link', 'show', 'lo')).to.match(/<LOOPBACK,UP/);
    expect(inPod('readlink', '/proc/self/ns/net').trim()).to.equal(readlinkSync(`/proc/${status.verbose.pausePid!}/ns/net`));
    servers.pop()!.kill('SIGKILL');
    await env.pods.stopPodSandbox(id);
    await env.pods.removePodSandbox(id);
  });

  it('writes resolv.conf, hostname and hosts, sets the UTS hostname, and applies sysctls in the pod only', async () => {
    const name = `files-${env.names.suffix}`;
    const id = await env.pods.runPodSandbox(
      podConfig(name, {
        dnsConfig: { servers: ['10.96.0.10'], searches: ['e2e.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
        linux: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.shm_rmid_forced': '1' } },
      }),
      '',
    );
    const status = env.pods.podSandboxStatus(id);
    env.pausePids.add(status.verbose.pausePid!);
    expect(readFileSync(status.resolvConfPath, 'utf8')).to.equal(
      'search e2e.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
    expect(readFileSync(status.hostnamePath, 'utf8')).to.equal(`${name}\n`);
    const hosts = readFileSync(status.hostsPath, 'utf8');
    expect(hosts).to.contain('127.0.0.1\tlocalhost');
    expect(hosts).to.contain(`${status.ips[0]}\t${name}\n`);
    expect((await run('nsenter', [`--uts=${status.namespacePaths.uts}`, 'hostname'])).trim()).to.equal(name);
    expect(osHostname()).to.not.equal(name);

    const inPod = await run('nsenter', [`--net=${status.namespacePaths.net}`, 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']);
    expect(inPod.trim()).to.equal('0');
    expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).to.not.equal('0');
    const ipcInPod = await run('nsenter', [`--ipc=${status.namespacePaths.ipc}`, 'cat', '/proc/sys/kernel/shm_rmid_forced']);
    expect(ipcInPod.trim()).to.equal('1');
    expect(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim()).to.equal('0');
    await env.pods.removePodSandbox(id);
  });

  it('runs pause as 65535 without capabilities, in its cgroup, with /dev/shm a 64 MiB tmpfs', async () => {
    const id = await env.pods.runPodSandbox(podConfig(`caps-${env.names.suffix}`), '');
    const status = env.pods.podSandboxStatus(id);
    const pid = status.verbose.pausePid!;
    env.pausePids.add(pid);
    expect(statusField(pid, 'Uid').split(/\s+/)).to.deep.equal(['65535', '65535', '65535', '65535']);
    expect(statusField(pid, 'Gid').split(/\s+/)).to.deep.equal(['65535', '65535', '65535', '65535']);
    expect(statusField(pid, 'CapEff')).to.equal('0000000000000000');
    expect(statusField(pid, 'CapPrm')).to.equal('0000000000000000');
    expect(statusField(pid, 'NoNewPrivs')).to.equal('1');
    const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    expect(cgroups).to.contain(`${env.cgroupParent}/berth-pod-${id.slice(0, 12)}`);
    const shmLine = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === status.shmPath);
    expect(shmLine, 'shm mounted').to.be.a('string');
    expect(shmLine).to.match(/ - tmpfs /);
    expect(shmLine).to.match(/size=65536k/);
    expect(shmLine).to.match(/nosuid,nodev,noexec/);
    await env.pods.removePodSandbox(id);
    expect(processAlive(pid)).to.equal(false);
  });

  it('runs a host-network pod in the host netns, with no CNI and the host hostname', async () => {
    const id = await env.pods.runPodSandbox(
      podConfig(`host-${env.names.suffix}`, {
        hostname: '',
        linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } },
      }),
      '',
    );
    const status = env.pods.podSandboxStatus(id);
    const pid = status.verbose.pausePid!;
    env.pausePids.add(pid);
    expect(statSync(`/proc/${pid}/ns/net`).ino).to.equal(statSync('/proc/self/ns/net').ino);
    expect(statSync(`/proc/${pid}/ns/uts`).ino).to.equal(statSync('/proc/self/ns/uts').ino);
    expect(statSync(`/proc/${pid}/ns/ipc`).ino).to.not.equal(statSync('/proc/self/ns/ipc').ino);
    expect(status.namespacePaths.net).to.equal(undefined);
    expect(status.ips).to.deep.equal([]);
    expect(await env.cni.attachedPodIds()).to.not.include(id);
    const links = await run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-br', 'link']);
    expect(links).to.match(/^eth0\s/m);
    expect(readFileSync(status.hostnamePath, 'utf8')).to.equal(`${osHostname()}\n`);
    await env.pods.removePodSandbox(id);
  });

  it('stops twice and removes, leaving nothing behind; the pause death is noticed as NOTREADY', async () => {
    const id = await env.pods.runPodSandbox(podConfig(`stop-${env.names.suffix}`), '');
    const status = env.pods.podSandboxStatus(id);
    const pid = status.verbose.pausePid!;
    env.pausePids.add(pid);
    process.kill(pid, 'SIGKILL'); // pause dies on its own
    const deadline = Date.now() + 3000;
    while (env.pods.podSandboxStatus(id).state !== 'notready') {
      if (Date.now() > deadline) throw new Error('pause death not noticed');
      await new Promise((r) => setTimeout(r, 10));
    }
    await env.pods.stopPodSandbox(id);
    await env.pods.stopPodSandbox(id);
    expect((await leftovers(env)).ips).to.deep.equal([]);
    await env.pods.removePodSandbox(id);
    await env.pods.removePodSandbox(id);
    expect(await leftovers(env)).to.deep.equal(CLEAN);
  });

  it('survives a berthd restart: the new manager adopts the running pod and watches its pause again', async () => {
    const name = `restart-${env.names.suffix}`;
    const id = await env.pods.runPodSandbox(podConfig(name), '');
    const before = env.pods.podSandboxStatus(id);
    env.pausePids.add(before.verbose.pausePid!);
    env.pods.close(); // berthd exits; the pod keeps running
    env.pods = await newPodManager(env);
    const report = await env.pods.recover();
    expect(report.running).to.include(id);
    const after = env.pods.podSandboxStatus(id);
    expect(after.state).to.equal('ready');
    expect(after.ips).to.deep.equal(before.ips);
    expect(await env.pods.runPodSandbox(podConfig(name), '')).to.equal(id); // the name is held again
    process.kill(before.verbose.pausePid!, 'SIGKILL');
    const deadline = Date.now() + 3000;
    while (env.pods.podSandboxStatus(id).state !== 'notready') {
      if (Date.now() > deadline) throw new Error('pause death after restart not noticed');
      await new Promise((r) => setTimeout(r, 10));
    }
    await env.pods.removePodSandbox(id);
    expect(await leftovers(env)).to.deep.equal(CLEAN);
  });
});
