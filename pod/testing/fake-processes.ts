import type { FakeNativeBinding } from '../../native/testing/fake-native';
import type { ProcessControl } from '../dependencies';

/** ProcessControl over the fake pause pids of FakeNativeBinding. */
export class FakeProcesses implements ProcessControl {
  readonly signals: Array<{ pid: number; signal: string }> = [];
  constructor(private readonly native: FakeNativeBinding) {}
  kill(pid: number, signal: NodeJS.Signals): void {
    this.signals.push({ pid, signal });
    if (!this.native.isAlive(pid)) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    if (signal === 'SIGKILL') this.native.exitProcess(pid);
  }
  isAlive(pid: number): boolean {
    return this.native.isAlive(pid);
  }
  startTime(pid: number): string | undefined {
    return this.native.isAlive(pid) ? `start-${pid}` : undefined;
  }
}
