import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { CONTAINER_RECORD_VERSION, type ContainerRecord } from './container-record';
import { runExecSession } from './exec-session';
import { RuncDriver } from './oci-driver/runc-driver';

const MiB = 1024 * 1024;

/**
 * A stand-in for runc: writes its pid to --pid-file, then becomes `head -c <bytes> /dev/zero`
 * writing to stdout or stderr (what a chatty exec'd process does).
 */
async function fakeRunc(dir: string, stream: 'stdout' | 'stderr', bytes: number): Promise<RuncDriver> {
  const binary = path.join(dir, 'fake-runc');
  const redirect = stream === 'stderr' ? '>&2' : '';
  await fs.writeFile(
    binary,
    `#!/bin/sh\nfor a in "$@"; do case "$a" in --pid-file=*) echo $$ > "\${a#--pid-file=}";; esac; done\nexec head -c ${bytes} /dev/zero ${redirect}\n`,
    { mode: 0o755 },
  );
  return new RuncDriver(binary, dir);
}

async function record(dir: string): Promise<ContainerRecord> {
  const bundle = path.join(dir, 'bundle');
  await fs.mkdir(bundle);
  await fs.writeFile(path.join(bundle, 'config.json'), JSON.stringify({ process: { args: ['x'], env: [], cwd: '/' } }));
  return {
    version: CONTAINER_RECORD_VERSION, id: 'c1', podSandboxId: 'p1', name: 'c', attempt: 0, reservedName: 'k8s_c', image: { requested: 'i', id: 'i', ref: 'i' },
    runtimeHandler: '', state: 'running', createdAtNs: 0, startedAtNs: 0, finishedAtNs: 0, exitCode: 0, reason: '', message: '', pid: 10, logPath: '',
    labels: {}, annotations: {}, mounts: [], user: { uid: 0, gid: 0, supplementalGroups: [] }, stopSignal: 'SIGTERM', tty: false, stdin: false, stdinOnce: false,
    paths: { dir, bundle, rootfs: path.join(bundle, 'rootfs') }, rootfsMounted: false, cgroupsPath: '',
  };
}

/** A client stream that never finishes a write: the client stopped reading. */
class StuckClient extends Writable {
  offered = 0;
  constructor() {
    super({ highWaterMark: 256 * 1024 });
  }
  override write(chunk: Buffer, ...rest: never[]): boolean {
    this.offered += chunk.length;
    return super.write(chunk, ...rest);
  }
  override _write(): void {
    // never calls back
  }
}

/** Samples RSS while `run` runs; resolves with the growth of the high-water mark in MiB. */
async function rssGrowth<T>(run: () => Promise<T>): Promise<{ result: T; mib: number }> {
  const base = process.memoryUsage().rss;
  let max = base;
  const sampler = setInterval(() => (max = Math.max(max, process.memoryUsage().rss)), 10);
  try {
    const result = await run();
    max = Math.max(max, process.memoryUsage().rss);
    return { result, mib: (max - base) / MiB };
  } finally {
    clearInterval(sampler);
  }
}

describe('runtime/exec-session without a terminal: output bounds', function () {
  this.timeout(30_000);
  let dir = '';
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-exec-test-'))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  for (const stream of ['stdout', 'stderr'] as const) {
    it(`holds back a process writing 200 MiB to ${stream} while the client does not read (buffered < 1 MiB), and kills it when the client leaves`, async () => {
      const runtime = await fakeRunc(dir, stream, 200 * MiB);
      const client = new StuckClient();
      const abort = new AbortController();
      const { result, mib } = await rssGrowth(async () => {
        const session = runExecSession(await record(dir), runtime, ['x'], { tty: false, [stream]: client }, abort.signal);
        await new Promise((r) => setTimeout(r, 1500));
        const buffered = client.writableLength;
        abort.abort(); // the client goes away
        const exit = await session;
        return { buffered, exit };
      });
      expect(result.buffered / MiB, `berthd buffered ${result.buffered} bytes for the client`).to.be.lessThan(1);
      expect(client.offered / MiB).to.be.lessThan(1);
      expect(result.exit.exitCode).to.equal(128 + 9); // SIGKILLed: it was blocked, not finished
      expect(mib, `RSS grew ${mib.toFixed(1)} MiB`).to.be.lessThan(64);
    });
  }

  it('drains 200 MiB of stderr the client did not ask for without keeping it', async () => {
    const runtime = await fakeRunc(dir, 'stderr', 200 * MiB);
    const { result, mib } = await rssGrowth(async () => runExecSession(await record(dir), runtime, ['x'], { tty: false }, new AbortController().signal));
    expect(result.exitCode).to.equal(0);
    expect(mib, `RSS grew ${mib.toFixed(1)} MiB`).to.be.lessThan(64);
  });
});
