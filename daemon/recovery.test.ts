import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { createLogger, silentLogger } from '../common/logger';
import { recoverNode, RECOVERY_STEPS, sweepCniCache, type RecoveryStep, type RecoveryStepName } from './recovery';
import { consumeShutdownMarker, shutdownMarkerPath, writeShutdownMarker } from './shutdown-marker';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('daemon/recovery', () => {
  let runRoot: string;
  tempDirEach('berth-recovery-', (d) => (runRoot = d));

  function recordingSteps(calls: string[], fail?: RecoveryStepName): Record<RecoveryStepName, RecoveryStep> {
    const steps = {} as Record<RecoveryStepName, RecoveryStep>;
    for (const name of RECOVERY_STEPS) {
      steps[name] = async (thorough) => {
        calls.push(`${name}:${thorough ? 'thorough' : 'quick'}`);
        if (name === fail) throw new Error('EIO reading the pods dir');
        return { kept: 1, cleaned: [], unreadable: name === 'pods' ? [{ id: 'p1', file: '/x/pods/p1/state.json', error: 'Unexpected end of JSON input' }] : [] };
      };
    }
    return steps;
  }

  it('runs images → cniCache → pods → containers; without a marker (crash) thoroughly', async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    const report = await recoverNode({ runRoot, logger: createLogger({ sink: (l) => lines.push(l) }), steps: recordingSteps(calls) });
    expect(calls).to.deep.equal(['images:thorough', 'cniCache:thorough', 'pods:thorough', 'containers:thorough']);
    expect(report).to.deep.include({ previousShutdown: 'unclean', thorough: true });
    expect(report.unreadable).to.deep.equal([{ id: 'p1', file: '/x/pods/p1/state.json', error: 'Unexpected end of JSON input', step: 'pods' }]);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.msg === 'unreadable state file skipped');
    expect(logged).to.deep.include({ id: 'p1', step: 'pods', level: 'error' });
  });

  it('after a clean stop the marker makes recovery quick, and is consumed so a later crash is seen', async () => {
    await writeShutdownMarker(runRoot, '1.2.3');
    const calls: string[] = [];
    const report = await recoverNode({ runRoot, logger: silentLogger, steps: recordingSteps(calls) });
    expect(report.thorough).to.equal(false);
    expect(calls.every((c) => c.endsWith(':quick'))).to.equal(true);
    expect(existsSync(shutdownMarkerPath(runRoot))).to.equal(false);
    const again = await recoverNode({ runRoot, logger: silentLogger, steps: recordingSteps([]) });
    expect(again.thorough).to.equal(true);
  });

  it('a failing step stops the start with an error naming the step; later steps do not run', async () => {
    const calls: string[] = [];
    const err = await recoverNode({ runRoot, logger: silentLogger, steps: recordingSteps(calls, 'pods') }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).to.contain('recover pods');
    expect(calls.map((c) => c.split(':')[0])).to.deep.equal(['images', 'cniCache', 'pods']);
  });

  it('the marker: absent = unclean; present (even garbled) = clean, and deleted on read', async () => {
    expect(await consumeShutdownMarker(runRoot)).to.deep.equal({ clean: false });
    await writeShutdownMarker(runRoot, 'v9');
    const read = await consumeShutdownMarker(runRoot);
    expect(read.clean).to.equal(true);
    expect(read.clean && read.marker).to.deep.include({ pid: process.pid, version: 'v9' });
    writeFileSync(shutdownMarkerPath(runRoot), 'not json');
    expect((await consumeShutdownMarker(runRoot)).clean).to.equal(true);
    expect(existsSync(shutdownMarkerPath(runRoot))).to.equal(false);
  });

  it('the CNI cache sweep DELs attachments of pods without state and keeps the rest; a failed DEL is kept', async () => {
    const deleted: string[] = [];
    const network = {
      attachedPodIds: async () => ['known', 'orphan', 'stuck'],
      tearDownPod: async (p: { id: string }) => {
        if (p.id === 'stuck') throw new Error('bridge plugin failed');
        deleted.push(p.id);
      },
    };
    const outcome = await sweepCniCache(network, async (id) => id === 'known', silentLogger);
    expect(deleted).to.deep.equal(['orphan']);
    expect(outcome).to.deep.equal({ kept: 1, cleaned: ['orphan'], unreadable: [] });
  });
});
