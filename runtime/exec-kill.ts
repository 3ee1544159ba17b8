/**
 * Killing a process started by `runc exec --pid-file` (an exec session whose client went away, an
 * ExecSync past its timeout). runc cannot forward SIGKILL, so the process itself is killed. runc
 * writes the pid file only after the process has started, and that process may already be writing
 * output: a missing file means "not yet" while runc still runs, so it is waited for (at most
 * `waitMs`) instead of concluding that nothing started.
 */
import { promises as fs } from 'node:fs';
import { errnoCode } from '../common/errors';

export async function killExecProcess(pidFile: string, runcRunning: () => boolean, waitMs = 2000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let text = '';
    try {
      text = await fs.readFile(pidFile, 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    const pid = Number(text.trim());
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if (errnoCode(err) !== 'ESRCH') throw err;
      }
      return;
    }
    if (!runcRunning() || Date.now() >= deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
