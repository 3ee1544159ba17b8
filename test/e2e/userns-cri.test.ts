/**
 * Pods with user namespaces through a real berthd socket (CRI messages as kubelet sends them for
 * `hostUsers: false`): Status offers them, the container is root inside and the pod's base id on
 * the host, image files keep their owners, emptyDir writes land as the pod's ids, a host-root
 * hostPath without mappings is nobody and read-only to it, escalation attempts fail, and two pods
 * with different ranges cannot read each other's files; exec, attach and port-forward work in such pods.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runtime } from '../../cri/api/generated/cri';
import { spdyRemoteCommand, SpdyPortForwardClient } from '../support/spdy-client';
import { connectWs } from '../support/ws-stream-client';
import { RestartableBerthd, TEST_IMAGE } from './reliability-support';
import { CriStack } from './support/cri-stack';

const { POD, CONTAINER, NODE } = runtime.v1.NamespaceMode;

describe('e2e user namespaces: hostUsers false through the berthd socket', function () {
  this.timeout(120_000);
  const stack = new CriStack('userns-cri');
  let seq = 0;

  const userns = (base: number): runtime.v1.IUserNamespace => ({
    mode: POD,
    uids: [{ hostId: base, containerId: 0, length: 65536 }],
    gids: [{ hostId: base, containerId: 0, length: 65536 }],
  });
  const podConfig = (name: string, base: number, network = POD): runtime.v1.IPodSandboxConfig =>
    stack.podConfig(name, { securityContext: { namespaceOptions: { network, pid: CONTAINER, ipc: POD, usernsOptions: userns(base) } } }, path.join(stack.work, 'logs', name));

  before(async () => {
    await stack.start({
      prepare: (work) => {
        fs.chmodSync(work, 0o755);
        fs.mkdirSync(path.join(work, 'host-root-dir'), { mode: 0o755 });
        fs.writeFileSync(path.join(work, 'host-root-dir', 'secret'), 'host\n', { mode: 0o644 });
        fs.mkdirSync(path.join(work, 'empty-dir'), { mode: 0o777 });
        fs.chmodSync(path.join(work, 'empty-dir'), 0o777);
      },
    });
    // berthd's temp dir stands for /var/lib: the pod's root must be able to pass through it.
    fs.chmodSync(path.dirname(stack.berthd!.root), 0o711);
  });

  after(() => stack.stop());

  const runPod = (name: string, base: number): Promise<string> => stack.runPod(podConfig(name, base));

  async function startContainer(podId: string, name: string, base: number, script: string, mounts: runtime.v1.IMount[] = []): Promise<string> {
    const config: runtime.v1.IContainerConfig = {
      metadata: { name: `${name}-${++seq}`, attempt: 0 },
      image: { image: stack.image },
      command: ['sh', '-c', script],
      logPath: `${name}-${seq}.log`,
      mounts,
      linux: { securityContext: { namespaceOptions: { pid: CONTAINER, usernsOptions: userns(base) } } },
    };
    const { containerId } = await stack.client.createContainer({ podSandboxId: podId, config, sandboxConfig: podConfig(name, base) });
    await stack.client.startContainer({ containerId: containerId ?? '' });
    return containerId ?? '';
  }

  const exec = async (containerId: string, cmd: string[]) => {
    const r = await stack.client.execSync({ containerId, cmd, timeout: 10 });
    return { stdout: Buffer.from(r.stdout ?? []).toString(), stderr: Buffer.from(r.stderr ?? []).toString(), exitCode: r.exitCode ?? -1 };
  };

  async function hostPid(containerId: string): Promise<number> {
    const { info } = await stack.client.containerStatus({ containerId, verbose: true });
    return (JSON.parse(info?.info ?? '{}') as { pid?: number }).pid ?? 0;
  }

  it('Status offers user namespaces for runc', async () => {
    const { runtimeHandlers, info } = await stack.client.status({ verbose: true });
    const runc = runtimeHandlers?.find((h) => h.name === 'runc');
    expect(runc?.features?.userNamespaces).to.equal(true);
    expect(JSON.parse(info?.userNamespaces ?? '{}'), 'verbose info shows the probe').to.deep.equal({ idmappedMounts: true });
  });

  it('refuses user namespaces with host network, naming the field', async () => {
    const err = await stack.client.runPodSandbox({ config: podConfig('hostnet', 0x100000, NODE) }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; details?: string },
    );
    expect(err?.code).to.equal(3);
    expect(err?.details).to.match(/namespace_options\.network: NODE cannot be combined with a user namespace/);
  });

  it('root inside is the pod base id on the host; image files keep their owners; emptyDir and hostPath behave', async () => {
    const base = 0x110000;
    const podId = await runPod('alpha', base);
    const id = await startContainer(podId, 'alpha', base, 'sleep 300', [
      { containerPath: '/scratch', hostPath: path.join(stack.work, 'empty-dir') },
      { containerPath: '/host', hostPath: path.join(stack.work, 'host-root-dir') },
    ]);
    const { status: podStatus } = await stack.client.podSandboxStatus({ podSandboxId: podId });
    expect(podStatus?.linux?.namespaces?.options?.usernsOptions?.uids?.[0]?.hostId, 'PodSandboxStatus reports the mappings').to.equal(base);
    const pid = await hostPid(id);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).to.match(new RegExp(`\\nUid:\\s+${base}\\s+${base}\\s`));
    expect((await exec(id, ['id', '-u'])).stdout.trim()).to.equal('0');
    expect((await exec(id, ['stat', '-c', '%u', '/bin/busybox'])).stdout.trim(), 'image file root inside').to.equal('0');
    const written = await exec(id, ['sh', '-c', 'echo x > /scratch/made-inside && echo ok']);
    expect(written.stdout.trim(), written.stderr).to.equal('ok');
    expect(fs.statSync(path.join(stack.work, 'empty-dir', 'made-inside')).uid, 'emptyDir write on the host').to.equal(base);
    expect((await exec(id, ['stat', '-c', '%u', '/host/secret'])).stdout.trim(), 'host root is nobody inside').to.equal('65534');
    expect((await exec(id, ['sh', '-c', 'echo y > /host/new'])).exitCode).to.not.equal(0);
    expect(fs.existsSync(path.join(stack.work, 'host-root-dir', 'new'))).to.equal(false);
    // Escalation: a nested user namespace gets nothing over the host, mounting is refused.
    const escape = await exec(id, ['sh', '-c', 'mkdir -p /m; unshare -U -r -m sh -c "mount -t tmpfs none /m && echo nested-mounted"; echo unshare=$?; mount -t tmpfs none /m && echo mounted; echo mount=$?']);
    console.log(`      escalation attempts: ${JSON.stringify(escape)}`);
    expect(escape.stdout).to.match(/unshare=[1-9]/);
    expect(escape.stdout).to.match(/mount=[1-9]/);
    expect(escape.stdout).to.not.match(/mounted/);
    expect(escape.stderr, 'refused for lack of privilege, not a missing path').to.match(/mount: permission denied|Operation not permitted/);
    expect(escape.stderr).to.not.match(/No such file/);
    console.log(`      host uid of the container process: ${base} (pid ${pid})`);
  });

  it('ExecSync in a user-namespaced container (berthd starts it without runc): the init\'s id maps, namespaces, ids, capabilities and seccomp', async () => {
    const base = 0x1d0000;
    const podId = await runPod('zeta', base);
    const id = await startContainer(podId, 'zeta', base, 'sleep 300');
    const pid = await hostPid(id);
    const read = (f: string) => fs.readFileSync(`/proc/${pid}/${f}`, 'utf8');
    const r = await exec(id, ['sh', '-c', 'cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; ls -l /proc/self/ns/; echo --; cat /proc/self/status']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const [uidMap, gidMap, ns, status] = r.stdout.split('--\n');
    expect(uidMap).to.equal(read('uid_map'));
    expect(uidMap.trim().split(/\s+/)).to.deep.equal(['0', String(base), '65536']);
    expect(gidMap).to.equal(read('gid_map'));
    const links = (listing: string) => Object.fromEntries([...listing.matchAll(/\s(\w+) -> (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const hostNs = Object.fromEntries(fs.readdirSync(`/proc/${pid}/ns`).map((n) => [n, fs.readlinkSync(`/proc/${pid}/ns/${n}`)]));
    expect(links(ns)).to.deep.equal(hostNs);
    // ids as seen inside (the host sees them through the map); the rest as the init's
    const fields = (s: string) => s.split('\n').filter((l) => /^(Cap\w+|NoNewPrivs|Seccomp\w*):/.test(l)).join('\n');
    expect(fields(status)).to.equal(fields(read('status')));
    expect(status).to.match(/^Uid:\s+0\s+0\s+0\s+0$/m);
    expect(read('status')).to.match(new RegExp(`^Uid:\\s+${base}\\s`, 'm'));
    // the exec'd process is berthd's own child (no runc in between), and no exec fell back to runc
    const running = stack.client.execSync({ containerId: id, cmd: ['sleep', '2'], timeout: 10 });
    let children = '';
    for (let i = 0; i < 100 && !children.includes('sleep'); i++) {
      await new Promise((res) => setTimeout(res, 20));
      children = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => { try { return fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { return ''; } })
        .filter((st) => st.slice(st.lastIndexOf(')') + 2).split(' ')[1] === String(stack.berthd!.pid)).join('\n');
    }
    await running;
    expect(children, 'a child of berthd runs sleep').to.include('(sleep)');
    expect(stack.berthd!.logLines.filter((l: string) => l.includes('ExecSync runs runc exec'))).to.deep.equal([]);
  });

  it('a container whose user is outside the pod range is refused, naming the field, and leaves no idmapped mount', async () => {
    const base = 0x160000;
    const podId = await runPod('epsilon', base);
    const containerMounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(path.join(stack.berthd!.root, 'containers'))).sort();
    const before = containerMounts();
    const config: runtime.v1.IContainerConfig = {
      metadata: { name: 'outside', attempt: 0 },
      image: { image: stack.image },
      command: ['true'],
      logPath: 'outside.log',
      linux: { securityContext: { runAsUser: { value: 70000 }, namespaceOptions: { pid: CONTAINER, usernsOptions: userns(base) } } },
    };
    const err = await stack.client.createContainer({ podSandboxId: podId, config, sandboxConfig: podConfig('epsilon', base) }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; details?: string },
    );
    expect(err?.code).to.equal(3);
    expect(err?.details).to.match(/run_as_user: uid 70000 is not mapped/);
    expect(containerMounts(), 'the failed create took its idmapped layers and rootfs down').to.deep.equal(before);
  });

  it('a Mount with the pod mappings is idmapped: host-root files are root inside, and root writes land as host root', async () => {
    const base = 0x120000;
    const podId = await runPod('beta', base);
    const range = [{ hostId: base, containerId: 0, length: 65536 }];
    const id = await startContainer(podId, 'beta', base, 'sleep 300', [
      { containerPath: '/vol', hostPath: path.join(stack.work, 'host-root-dir'), uidMappings: range, gidMappings: range },
    ]);
    expect((await exec(id, ['stat', '-c', '%u', '/vol/secret'])).stdout.trim()).to.equal('0');
    expect((await exec(id, ['sh', '-c', 'echo z > /vol/from-pod && echo ok'])).stdout.trim()).to.equal('ok');
    expect(fs.statSync(path.join(stack.work, 'host-root-dir', 'from-pod')).uid).to.equal(0);
    fs.rmSync(path.join(stack.work, 'host-root-dir', 'from-pod'));
    // Logs and stats of such a container.
    const { stats } = await stack.client.containerStats({ containerId: id });
    expect(Number(stats?.memory?.workingSetBytes?.value ?? 0)).to.be.greaterThan(0);
  });

  it('streaming works in a user-namespaced pod: exec over SPDY, attach over WebSocket, port-forward into its netns', async () => {
    const base = 0x150000;
    const podId = await runPod('streams', base);
    const web = await startContainer(podId, 'streams', base, 'mkdir -p /www && echo hi-from-userns > /www/index.html && exec httpd -f -p 8080 -h /www');
    const { url: execUrl } = await stack.client.exec({ containerId: web, cmd: ['id', '-u'], stdout: true, stderr: true });
    const rc = await spdyRemoteCommand(execUrl ?? '', { stderr: true });
    expect((await rc.stdout).toString()).to.equal('0\n');
    expect(JSON.parse(await rc.error).status).to.equal('Success');

    const { url: pfUrl } = await stack.client.portForward({ podSandboxId: podId, port: [8080] });
    const pf = await SpdyPortForwardClient.connect(pfUrl ?? '');
    try {
      const page = await pf.httpGetWhenUp(8080, '/index.html');
      expect(page).to.contain('200 OK').and.to.contain('hi-from-userns');
    } finally {
      pf.close();
    }

    const config: runtime.v1.IContainerConfig = {
      metadata: { name: `cat-${++seq}`, attempt: 0 },
      image: { image: stack.image },
      command: ['cat'],
      stdin: true,
      stdinOnce: true,
      logPath: `cat-${seq}.log`,
      linux: { securityContext: { namespaceOptions: { pid: CONTAINER, usernsOptions: userns(base) } } },
    };
    const { containerId: cat } = await stack.client.createContainer({ podSandboxId: podId, config, sandboxConfig: podConfig('streams', base) });
    await stack.client.startContainer({ containerId: cat ?? '' });
    const { url: attachUrl } = await stack.client.attach({ containerId: cat ?? '', stdin: true, stdout: true, stderr: true });
    const ws = await connectWs(attachUrl ?? '', ['v5.channel.k8s.io']);
    ws.send(0, 'ping in a user namespace\n');
    for (let i = 0; i < 200 && !ws.channelData(1).toString().includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(ws.channelData(1).toString()).to.equal('ping in a user namespace\n');
    ws.send(255, Buffer.from([0]));
    await ws.closed;
  });

  it('two pods with different ranges cannot read each other\'s files', async () => {
    const [a, b] = [0x130000, 0x140000];
    const shared = path.join(stack.work, 'shared');
    fs.mkdirSync(shared, { mode: 0o777 });
    fs.chmodSync(shared, 0o777);
    const mounts = [{ containerPath: '/shared', hostPath: shared }];
    const idA = await startContainer(await runPod('gamma', a), 'gamma', a, 'umask 077; echo mine > /shared/a-secret; sleep 300', mounts);
    const idB = await startContainer(await runPod('delta', b), 'delta', b, 'sleep 300', mounts);
    for (let i = 0; i < 100 && !fs.existsSync(path.join(shared, 'a-secret')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.statSync(path.join(shared, 'a-secret')).uid).to.equal(a);
    expect((await exec(idA, ['cat', '/shared/a-secret'])).stdout.trim()).to.equal('mine');
    const fromB = await exec(idB, ['cat', '/shared/a-secret']);
    expect(fromB.exitCode).to.not.equal(0);
    expect(fromB.stderr).to.match(/Permission denied/);
    expect((await exec(idB, ['stat', '-c', '%u', '/shared/a-secret'])).stdout.trim(), "the other pod's root is nobody here").to.equal('65534');
  });
});

describe('e2e user namespaces: a pod survives a berthd restart', function () {
  this.timeout(120_000);
  let b: RestartableBerthd;
  const base = 0x150000;
  const range = [{ hostId: base, containerId: 0, length: 65536 }];
  const userns = { mode: POD, uids: range, gids: range };
  const config = () => ({
    metadata: { name: 'survivor', namespace: 'e2e', uid: `uid-survivor-${process.pid}`, attempt: 0 },
    hostname: 'survivor',
    logDirectory: path.join(b.logsDir, 'survivor'),
    linux: { securityContext: { namespaceOptions: { pid: CONTAINER, usernsOptions: userns } } },
  });

  before(async () => {
    b = await RestartableBerthd.create('berth-userns-restart');
    fs.chmodSync(b.dir, 0o711);
    await b.start();
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
  });
  after(async () => {
    await b?.destroy();
  });

  it('after SIGKILL and restart: exec, logs and stats work, and removal leaves no idmapped mount', async () => {
    let c = b.client();
    const { podSandboxId } = await c.runPodSandbox({ config: config() });
    const podId = podSandboxId ?? '';
    const { containerId } = await c.createContainer({
      podSandboxId: podId,
      config: {
        metadata: { name: 'sleeper', attempt: 0 },
        image: { image: TEST_IMAGE },
        command: ['sh', '-c', 'id -u; sleep 300'],
        logPath: 'sleeper.log',
        linux: { securityContext: { namespaceOptions: { pid: CONTAINER, usernsOptions: userns } } },
      },
      sandboxConfig: config(),
    });
    const id = containerId ?? '';
    await c.startContainer({ containerId: id });
    await b.stop('SIGKILL');
    await b.start();
    c = b.client();
    const { status } = await c.podSandboxStatus({ podSandboxId: podId });
    expect(status?.state, 'pod still ready').to.equal(0);
    const r = await c.execSync({ containerId: id, cmd: ['id', '-u'], timeout: 10 });
    expect(Buffer.from(r.stdout ?? []).toString().trim()).to.equal('0');
    const { status: cs } = await c.containerStatus({ containerId: id });
    expect(fs.readFileSync(cs?.logPath ?? '', 'utf8')).to.match(/ stdout F 0\n/);
    const { stats } = await c.containerStats({ containerId: id });
    expect(Number(stats?.memory?.workingSetBytes?.value ?? 0)).to.be.greaterThan(0);
    await c.stopPodSandbox({ podSandboxId: podId });
    await c.removePodSandbox({ podSandboxId: podId });
    const left = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(b.dir));
    expect(left, 'no rootfs, idmapped layer or namespace pin left').to.deep.equal([]);
  });
});
