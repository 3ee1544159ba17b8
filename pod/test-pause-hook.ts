/**
 * A crash-test seam of RunPodSandbox, inert unless berthd's environment names a step:
 * BERTH_TEST_PAUSE_STEP=<step> (one of PodStartStep) and BERTH_TEST_PAUSE_MARKER=<file>. Before
 * that step runs, berthd writes `{ step, podId, name, namespace, pid }` to the marker file and
 * waits until the file is removed, so an e2e test can SIGKILL berthd at a known point inside
 * RunPodSandbox and then check that recovery removed exactly that half-made pod. Only tests set
 * these variables; berthd's units and manifests never do.
 */
import { promises as fs } from 'node:fs';
import type { PodStartStep } from './types';

/** Names of the environment variables of the seam. */
export const TEST_PAUSE_STEP_ENV = 'BERTH_TEST_PAUSE_STEP';
export const TEST_PAUSE_MARKER_ENV = 'BERTH_TEST_PAUSE_MARKER';

/** What the marker file holds (JSON). */
export interface TestPauseMarker {
  step: PodStartStep;
  podId: string;
  name: string;
  namespace: string;
  /** berthd's pid: the process the test kills. */
  pid: number;
}

/** Resolves at once unless `env` asks to pause before `step`; then writes the marker and waits for its removal. */
export async function pauseBeforeStepForTests(step: PodStartStep, pod: { id: string; name: string; namespace: string }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const wanted = env[TEST_PAUSE_STEP_ENV];
  if (!wanted || wanted !== step) return;
  const marker = env[TEST_PAUSE_MARKER_ENV];
  if (!marker) return;
  const content: TestPauseMarker = { step, podId: pod.id, name: pod.name, namespace: pod.namespace, pid: process.pid };
  await fs.writeFile(marker, JSON.stringify(content));
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      await fs.access(marker);
    } catch {
      return;
    }
  }
}
