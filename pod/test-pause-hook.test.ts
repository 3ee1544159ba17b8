import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pauseBeforeStepForTests, TEST_PAUSE_MARKER_ENV, TEST_PAUSE_STEP_ENV, type TestPauseMarker } from './test-pause-hook';

const POD = { id: 'a'.repeat(64), name: 'web', namespace: 'default' };
const REPO = path.resolve(__dirname, '..', '..');

/** Settles within `ms`: 'resolved', or 'pending' when it still waits. */
async function within(p: Promise<void>, ms: number): Promise<'resolved' | 'pending'> {
  return Promise.race([p.then(() => 'resolved' as const), new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

describe('pod/test-pause-hook', () => {
  let dir: string;
  let marker: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-pause-hook-'));
    marker = path.join(dir, 'marker.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('does nothing without the environment variable: resolves at once, writes no marker', async () => {
    expect(await within(pauseBeforeStepForTests('cni', POD, { [TEST_PAUSE_MARKER_ENV]: marker }), 200)).to.equal('resolved');
    expect(await within(pauseBeforeStepForTests('cni', POD, {}), 200)).to.equal('resolved');
    expect(existsSync(marker)).to.equal(false);
  });

  it('does nothing for a step other than the one named', async () => {
    const env = { [TEST_PAUSE_STEP_ENV]: 'state', [TEST_PAUSE_MARKER_ENV]: marker };
    for (const step of ['files', 'shm', 'cgroup', 'pause', 'pin', 'cni'] as const) expect(await within(pauseBeforeStepForTests(step, POD, env), 200)).to.equal('resolved');
    expect(existsSync(marker)).to.equal(false);
  });

  it('before the named step: writes the marker naming the pod, and waits until the marker is removed', async () => {
    const env = { [TEST_PAUSE_STEP_ENV]: 'cni', [TEST_PAUSE_MARKER_ENV]: marker };
    const waiting = pauseBeforeStepForTests('cni', POD, env);
    expect(await within(waiting, 300)).to.equal('pending');
    const written = JSON.parse(readFileSync(marker, 'utf8')) as TestPauseMarker;
    expect(written).to.deep.equal({ step: 'cni', podId: POD.id, name: 'web', namespace: 'default', pid: process.pid });
    unlinkSync(marker);
    expect(await within(waiting, 500)).to.equal('resolved');
  });

  it('the daemon never sets it: no shipped unit, manifest or script names the variable', () => {
    const files = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(path.join(d, n)).isDirectory() ? files(path.join(d, n)) : [path.join(d, n)]));
    const shipped = ['contrib', 'manifests', 'scripts', 'bin'].flatMap((d) => files(path.join(REPO, d)));
    expect(shipped.length).to.be.greaterThan(3);
    expect(shipped.filter((f) => readFileSync(f, 'utf8').includes(TEST_PAUSE_STEP_ENV))).to.deep.equal([]);
  });
});
