import type { ProcessControl } from '../dependencies';
import type { FakePodNative } from './fake-pod-native';

/** ProcessControl over FakePodNative's fake pids. */
export class FakeProcesses implements ProcessControl {
  readonly signals: Array<{ pid: number; signal: string }> = [];
  constructor(private readonly native: FakePodNative) {}
  kill(pid: number, signal: NodeJS.Signals): void {
    this.signals.push({ pid, signal });
    if (!this.native.alive.has(pid)) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    if (signal === 'SIGKILL') this.native.exit(pid);
  }
  isAlive(pid: number): boolean {
    return this.native.alive.has(pid);
  }
  startTime(pid: number): string | undefined {
    return this.native.alive.has(pid) ? `start-${pid}` : undefined;
  }
}
