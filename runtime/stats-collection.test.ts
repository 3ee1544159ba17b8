import { expect } from 'chai';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readSmallFile } from '../common/read-small-file';
import { readCgroupUsageAt, type CgroupFileReader } from './cgroup-stats';
import { ContainerStatsReader, type StatsSource, type StatsTarget } from './container-stats';
import { BatchFileReader } from './batch-file-reader';
import { DiskUsageCache, type DiskUsage } from './disk-usage';
import type { PodStatsInput } from './pod-stats';

const PODS = 110;

/** A v1 cgroupfs tree with a pod cgroup and a container cgroup per pod, and a fake /proc/<pid>/net/dev per pod. */
function writeTree(root: string): void {
  const put = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  };
  for (let i = 0; i < PODS; i++) {
    for (const cg of [`kubepods/pod${i}`, `kubepods/pod${i}/c${i}`]) {
      put(`cpuacct/${cg}/cpuacct.usage`, `${1e9 + i}\n`);
      put(`memory/${cg}/memory.usage_in_bytes`, '4096\n');
      put(`memory/${cg}/memory.limit_in_bytes`, '9223372036854771712\n');
      put(`memory/${cg}/memory.stat`, 'total_rss 100\ntotal_inactive_file 10\n');
      put(`pids/${cg}/pids.current`, '2\n');
    }
    put(`proc/${1000 + i}/net/dev`, 'h1\nh2\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n');
  }
}

describe('runtime/ContainerStatsReader: one collection per period', () => {
  let root: string;
  let clock: number;
  let reads: Map<string, number>;
  const counting: CgroupFileReader = (file) => {
    reads.set(file, (reads.get(file) ?? 0) + 1);
    return readSmallFile(file);
  };
  const targets: StatsTarget[] = [];
  let targetCalls = 0;
  const source: StatsSource = {
    statsTargets: (f) => {
      targetCalls++;
      return targets.filter((t) => (!f?.id || t.id.startsWith(f.id)) && (!f?.podSandboxId || t.podSandboxId.startsWith(f.podSandboxId)));
    },
  };
  const pods: PodStatsInput[] = [];
  const totalReads = () => [...reads.values()].reduce((a, b) => a + b, 0);
  const reader = (opts: { concurrency?: number; diskUsage?: DiskUsageCache; onRead?: () => Promise<void> } = {}) =>
    new ContainerStatsReader(source, 1, () => clock, {
      readUsage: async (cg, v, now) => {
        await opts.onRead?.();
        return readCgroupUsageAt(root, cg, v, now, counting);
      },
      // /proc/<pid>/net/dev of the fake tree
      readFile: (file) => counting(path.join(root, file)),
      diskUsage: opts.diskUsage ?? new DiskUsageCache({ walk: async () => ({ bytes: 4096, inodes: 1, partial: false }) }),
      concurrency: opts.concurrency,
    });

  before(() => {
    root = fs.mkdtempSync(path.join(tmpdir(), 'berth-stats-'));
    writeTree(root);
    for (let i = 0; i < PODS; i++) {
      targets.push({ id: `c${i}`, podSandboxId: `pod${i}`, name: 'app', attempt: 0, labels: {}, annotations: {}, state: 'running', cgroupsPath: `/kubepods/pod${i}/c${i}`, dir: path.join(root, `ctr${i}`) });
      pods.push({ id: `pod${i}`, name: `p${i}`, namespace: 'ns', uid: `u${i}`, attempt: 0, labels: {}, annotations: {}, cgroupParent: `/kubepods/pod${i}`, netnsPid: 1000 + i });
    }
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => {
    clock = 1e18;
    reads = new Map();
    targetCalls = 0;
  });

  it(`ListPodSandboxStats of ${PODS} pods reads each cgroup and net/dev file at most once; the next calls in the period read nothing`, async () => {
    const r = reader();
    const all = await r.listPodStats(pods);
    expect(all).to.have.length(PODS);
    expect(all[7].containers.map((c) => c.id)).to.deep.equal(['c7']);
    expect(all[7].usage!.cpuUsageNs).to.equal(1e9 + 7);
    expect(all[7].network!.defaultInterface!.rxBytes).to.equal(1);
    expect(Math.max(...reads.values()), 'a file read twice in one collection').to.equal(1);
    // 2 cgroups × 7 files (cpuacct.usage, usage, limit, stat, pids, memsw usage and limit) + net/dev
    expect(reads.size).to.equal(PODS * 15);
    const before = totalReads();
    clock += 0.5e9;
    await r.listPodStats(pods);
    await r.list();
    await r.podStats(pods[3]);
    await r.stats('c5');
    expect(totalReads() - before, 'calls within the period must be served from the collection').to.equal(0);
    clock += 1e9;
    await r.listPodStats(pods);
    expect(totalReads() - before).to.equal(PODS * 15);
  });

  it('pods sharing a cgroup parent (none given: the default one) share one read of it', async () => {
    const shared = pods.slice(0, 20).map((p) => ({ ...p, cgroupParent: '/kubepods/pod0' }));
    const all = await reader().listPodStats(shared);
    expect(reads.get(path.join(root, 'cpuacct/kubepods/pod0/cpuacct.usage'))).to.equal(1);
    expect(all[19].usage!.cpuUsageNs).to.equal(1e9);
  });

  it('lists the containers once per ListPodSandboxStats, not once per pod', async () => {
    await reader().listPodStats(pods);
    expect(targetCalls).to.be.at.most(2);
  });

  it('keeps at most `concurrency` cgroups in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = reader({
      concurrency: 3,
      onRead: async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((res) => setTimeout(res, 1));
        inFlight--;
      },
    });
    await Promise.all([r.list(), r.listPodStats(pods)]);
    expect(peak).to.equal(3);
  });

  it('usage_nano_cores is Δcpu/Δt between two real samples, not between cached answers', async () => {
    const file = path.join(root, 'cpuacct/kubepods/pod0/c0/cpuacct.usage');
    try {
      const r = reader();
      fs.writeFileSync(file, '1000000000\n');
      expect((await r.stats('c0')).usage).to.not.have.property('cpuUsageNanoCores');
      clock += 0.5e9;
      fs.writeFileSync(file, '1200000000\n');
      const cached = (await r.stats('c0')).usage!;
      expect(cached.cpuUsageNs, 'served from the first sample').to.equal(1e9);
      expect(cached).to.not.have.property('cpuUsageNanoCores');
      clock += 1.5e9; // 2 s after the first sample
      fs.writeFileSync(file, '1500000000\n');
      expect((await r.stats('c0')).usage!.cpuUsageNanoCores).to.equal(2.5e8); // 0.5 s of CPU in 2 s
    } finally {
      fs.writeFileSync(file, `${1e9}\n`);
    }
  });

  it('List calls never wait for a writable-layer walk; a single ContainerStats waits only for the first one', async () => {
    let release: (u: DiskUsage) => void = () => undefined;
    let walks = 0;
    const disk = new DiskUsageCache({
      walk: () => {
        walks++;
        return new Promise<DiskUsage>((res) => (release = res));
      },
    });
    const r = reader({ diskUsage: disk });
    const listed = await r.list({ id: 'c105' });
    expect(listed[0].writableLayer).to.not.have.property('usedBytes');
    expect(walks).to.equal(1);
    const single = r.stats('c105');
    release({ bytes: 8192, inodes: 2, partial: false });
    expect((await single).writableLayer).to.include({ usedBytes: 8192, inodesUsed: 2 });
    expect((await r.list({ id: 'c105' }))[0].writableLayer).to.include({ usedBytes: 8192 });
    expect(walks).to.equal(1);
  });

  it('an exited container has no usage and no cgroup read', async () => {
    const t = targets[9];
    t.state = 'exited';
    try {
      const s = await reader().stats('c9');
      expect(s.usage).to.equal(undefined);
      expect([...reads.keys()].some((f) => f.includes('/c9/'))).to.equal(false);
    } finally {
      t.state = 'running';
    }
  });
});

describe('runtime/BatchFileReader', () => {
  it('reads the files asked for in one turn with one readFiles call per chunk', async () => {
    const calls: string[][] = [];
    const reader = new BatchFileReader(async (paths) => {
      calls.push([...paths]);
      return paths.map((p) => (p.endsWith('missing') ? undefined : `text of ${p}`));
    }, 3);
    const texts = await Promise.all(['/a', '/b', '/missing', '/c', '/d'].map((p) => reader.read(p)));
    expect(texts).to.deep.equal(['text of /a', 'text of /b', undefined, 'text of /c', 'text of /d']);
    expect(calls).to.deep.equal([['/a', '/b', '/missing'], ['/c', '/d']]);
    expect(await reader.read('/e')).to.equal('text of /e');
    expect(calls).to.have.length(3);
  });

  it('a failed batch reads as unreadable files, not as a rejection', async () => {
    const reader = new BatchFileReader(() => Promise.reject(new Error('EMFILE')));
    expect(await reader.read('/a')).to.equal(undefined);
  });
});

describe('runtime/DiskUsageCache background walks', () => {
  it('runs one walk at a time over all directories; latest() answers the last finished walk without waiting', async () => {
    let running = 0;
    let peak = 0;
    let now = 0;
    const cache = new DiskUsageCache({
      now: () => now,
      walk: async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
        return { bytes: 1, inodes: 1, partial: false };
      },
    });
    expect(cache.latest('/a')).to.equal(undefined);
    expect(cache.latest('/b')).to.equal(undefined);
    await Promise.all([cache.usage('/a'), cache.usage('/b'), cache.usage('/c')]);
    expect(peak).to.equal(1);
    expect(cache.latest('/a')!.usage.bytes).to.equal(1);
    now += 60 * 60_000; // nobody asked for an hour: forgotten
    cache.latest('/z');
    expect(cache.size).to.equal(1);
  });
});

describe('stats read paths: no synchronous fs calls', () => {
  const files = [
    'common/read-small-file',
    'common/concurrency-limit',
    'runtime/cgroup-stats',
    'runtime/container-stats',
    'runtime/pod-stats',
    'runtime/stats-sample-cache',
    'runtime/disk-usage',
    'runtime/cpu-rate',
    'cri/runtime/list-pod-sandbox-stats',
    'cri/runtime/pod-sandbox-stats',
    'cri/runtime/list-container-stats',
    'cri/runtime/container-stats',
    'cri/runtime/container-status',
    'cri/runtime/list-containers',
    'cri/runtime/pod-sandbox-status',
    'cri/runtime/list-pod-sandbox',
  ];
  it('the compiled stats and status modules call no *Sync function', () => {
    for (const f of files) {
      const js = fs.readFileSync(path.join(__dirname, '..', `${f}.js`), 'utf8');
      expect(js, f).to.not.match(/\b\w+Sync\s*\(/);
    }
  });
});
