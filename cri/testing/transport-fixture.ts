/**
 * Test-only: what the transport's raw-frame tests share per test: a temp dir with the socket, the
 * test server with routes and limits, the raw clients, all removed after each test.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FrameType, Flag, type SettingId } from '../transport/frames';
import type { ConnectionLimits } from '../transport/limits';
import { RawH2Client, serveTransport, type RawFrame } from './h2-raw';
import { testRoutes, type RouteLog } from './transport-routes';

/** A transport test server and its clients; `start` in a test, cleaned up after it. */
export interface TransportFixture {
  readonly socketPath: string;
  readonly srv: Awaited<ReturnType<typeof serveTransport>>;
  readonly log: RouteLog;
  start(limits?: Partial<ConnectionLimits>, routes?: Parameters<typeof testRoutes>[0], maxMessageBytes?: number): Promise<void>;
  /** A raw client that sent the preface and `settings`; closed after the test. */
  client(settings?: ReadonlyArray<readonly [SettingId, number]>): RawH2Client;
  /** A raw client that has sent nothing yet (for bad prefaces); closed after the test. */
  rawClient(): RawH2Client;
  /** The frame that ends stream `id` (HEADERS with END_STREAM). */
  trailersOf(c: RawH2Client, id: number): Promise<RawFrame>;
}

/** Registers the per-test set-up and clean-up in the enclosing describe; temp dirs start with `prefix`. */
export function transportFixture(prefix: string): TransportFixture {
  let dir = '';
  let srv: TransportFixture['srv'] | undefined;
  let log: RouteLog | undefined;
  const clients: RawH2Client[] = [];
  const fixture: TransportFixture = {
    get socketPath() {
      return path.join(dir, 's.sock');
    },
    get srv() {
      if (!srv) throw new Error('transport fixture: start() was not called');
      return srv;
    },
    get log() {
      if (!log) throw new Error('transport fixture: start() was not called');
      return log;
    },
    async start(limits = {}, routes = {}, maxMessageBytes) {
      const t = testRoutes(routes);
      log = t.log;
      srv = await serveTransport(fixture.socketPath, t.routes, limits, maxMessageBytes);
    },
    client(settings = []) {
      const c = new RawH2Client(fixture.socketPath).start(settings);
      clients.push(c);
      return c;
    },
    rawClient() {
      const c = new RawH2Client(fixture.socketPath);
      clients.push(c);
      return c;
    },
    trailersOf: (c, id) => c.waitFor((f) => f.streamId === id && f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0),
  };
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await srv?.close();
    srv = undefined;
    log = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });
  return fixture;
}

/** `n` as 4 big-endian bytes (window increments, error codes, stream ids in payloads). */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
