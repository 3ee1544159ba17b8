import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parsePressure, readCgroupUsageAt } from './cgroup-stats';
import { CpuRateTracker } from './cpu-rate';

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
}

describe('runtime/cgroup-stats swap and PSI', () => {
  let mount: string;
  beforeEach(() => (mount = mkdtempSync(path.join(tmpdir(), 'berth-cgs-'))));
  afterEach(() => rmSync(mount, { recursive: true, force: true }));

  it('v2: swap from memory.swap.current/max, PSI of cpu, memory and io (totals µs → ns)', async () => {
    writeTree(mount, {
      'pod/c/cpu.stat': 'usage_usec 5\n',
      'pod/c/memory.current': '1000\n',
      'pod/c/memory.max': 'max\n',
      'pod/c/memory.stat': 'anon 10\ninactive_file 100\n',
      'pod/c/memory.swap.current': '4096\n',
      'pod/c/memory.swap.max': '10240\n',
      'pod/c/cpu.pressure': 'some avg10=1.50 avg60=0.25 avg300=0.00 total=12\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n',
      'pod/c/memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      'pod/c/io.pressure': 'some avg10=2.00 avg60=1.00 avg300=0.50 total=7\nfull avg10=1.00 avg60=0.50 avg300=0.25 total=4\n',
    });
    const u = (await readCgroupUsageAt(mount, '/pod/c', 2, 42))!;
    expect(u).to.include({ swapUsageBytes: 4096, swapAvailableBytes: 6144, cpuUsageNs: 5000 });
    expect(u.psi!.cpu).to.deep.equal({ some: { avg10: 1.5, avg60: 0.25, avg300: 0, totalNs: 12000 }, full: { avg10: 0, avg60: 0, avg300: 0, totalNs: 3000 } });
    expect(u.psi!.io!.full).to.deep.equal({ avg10: 1, avg60: 0.5, avg300: 0.25, totalNs: 4000 });
    expect(u.psi!.memory!.some!.totalNs).to.equal(0);
  });

  it('v2: unlimited swap has usage but no available bytes; no swap accounting and no PSI files leave both out', async () => {
    writeTree(mount, { 'a/memory.current': '1\n', 'a/memory.swap.current': '0\n', 'a/memory.swap.max': 'max\n', 'b/memory.current': '1\n' });
    const a = (await readCgroupUsageAt(mount, '/a', 2, 1))!;
    expect(a.swapUsageBytes).to.equal(0);
    expect(a).to.not.have.property('swapAvailableBytes');
    const b = (await readCgroupUsageAt(mount, '/b', 2, 1))!;
    expect(b).to.not.have.any.keys('swapUsageBytes', 'swapAvailableBytes', 'psi');
  });

  it('v1: swap is memsw minus memory usage; available is the swap part of the limits minus that', async () => {
    const mib = 1024 * 1024;
    writeTree(mount, {
      'cpuacct/pod/c/cpuacct.usage': '77\n',
      'memory/pod/c/memory.usage_in_bytes': `${10 * mib}\n`,
      'memory/pod/c/memory.limit_in_bytes': `${64 * mib}\n`,
      'memory/pod/c/memory.memsw.usage_in_bytes': `${13 * mib}\n`,
      'memory/pod/c/memory.memsw.limit_in_bytes': `${128 * mib}\n`,
      'memory/pod/c/memory.stat': 'total_inactive_file 0\n',
    });
    const u = (await readCgroupUsageAt(mount, '/pod/c', 1, 1))!;
    expect(u).to.include({ cpuUsageNs: 77, swapUsageBytes: 3 * mib, swapAvailableBytes: 61 * mib });
    expect(u).to.not.have.property('psi');
  });

  it('v1 without memsw (no swap accounting) reports no swap', async () => {
    writeTree(mount, { 'memory/x/memory.usage_in_bytes': '5\n' });
    expect(await readCgroupUsageAt(mount, '/x', 1, 1)).to.not.have.any.keys('swapUsageBytes', 'swapAvailableBytes');
  });

  it('parsePressure ignores junk and answers undefined without a PSI line', () => {
    expect(parsePressure('')).to.equal(undefined);
    expect(parsePressure('some avg10=x avg60=0 avg300=0 total=1\n')).to.equal(undefined);
    expect(parsePressure('some avg10=0.10 avg60=0.20 avg300=0.30 total=1\n')).to.deep.equal({ some: { avg10: 0.1, avg60: 0.2, avg300: 0.3, totalNs: 1000 } });
  });
});

describe('runtime/CpuRateTracker', () => {
  it('first sample has no rate; then Δcpu/Δt in ns per s; a counter going back or a still clock gives none', () => {
    const t = new CpuRateTracker();
    expect(t.rate('p', 1e9, 5e8)).to.equal(undefined);
    expect(t.rate('p', 3e9, 1.5e9)).to.equal(5e8); // 1e9 ns of CPU over 2 s = half a core
    expect(t.rate('p', 3e9, 2e9)).to.equal(undefined);
    expect(t.rate('p', 4e9, 1e9)).to.equal(undefined);
    expect(t.rate('p', 5e9, 3e9)).to.equal(2e9);
  });

  it('retain and forgetOlderThan drop samples', () => {
    const t = new CpuRateTracker();
    t.rate('a', 1, 1);
    t.rate('b', 100, 1);
    t.retain(new Set(['a', 'b']));
    expect(t.size).to.equal(2);
    t.forgetOlderThan(50);
    expect(t.size).to.equal(1);
    t.retain(new Set());
    expect(t.size).to.equal(0);
  });
});
