/** Checks on the terminal of a streaming session and cleanup of host processes the e2e tests start. */
import { expect } from 'chai';
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { SpdyRemoteCommand } from '../../support/spdy-client';
import { pollValue } from './wait';

/** Resizes the terminal of the shell behind `rc` to `cols` x `rows` and checks `stty size` there answers it. */
export async function expectSttySize(rc: SpdyRemoteCommand, cols: number, rows: number): Promise<void> {
  let seen = '';
  rc.stdoutStream!.on('data', (d: Buffer) => (seen += d.toString()));
  rc.sendResize(cols, rows);
  await new Promise((r) => setTimeout(r, 100));
  rc.stdin!.write('stty size\n');
  const want = `${rows} ${cols}\r\n`;
  seen = await pollValue(() => seen, (o) => o.includes(want));
  expect(seen).to.contain(want);
}

/** SIGKILLs `child` when it still runs and waits for its exit. */
export async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}

/** Deletes network namespace `name`; one that was never created is fine. */
export function deleteNetnsIfAny(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name]);
  } catch {
    // never created
  }
}
