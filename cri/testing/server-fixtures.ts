/** A CRI server per test, listening on a unix socket in a temp dir, and a client to it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createCriClient, type CriClient } from '../../test/support/cri-client';
import type { CriServer } from '../server';

/** What criServerEach hands the tests; fields are set per test. */
export class CriServerFixture {
  dir = '';
  socketPath = '';
  server: CriServer | undefined;
  client: CriClient | undefined;

  /** Listens with `server` on the socket and returns a client to it (both closed after the test). */
  async serve(server: CriServer): Promise<CriClient> {
    this.server = server;
    await server.listen(this.socketPath);
    this.client = createCriClient(this.socketPath);
    return this.client;
  }
}

/** Registers hooks that make a temp dir with socket path `<dir>/<socketName>` before each test, and close the client, shut the server down (grace `graceMs`) and remove the dir after it. */
export function criServerEach(prefix: string, socketName: string, graceMs: number): CriServerFixture {
  const f = new CriServerFixture();
  beforeEach(() => {
    f.dir = mkdtempSync(path.join(tmpdir(), prefix));
    f.socketPath = path.join(f.dir, socketName);
  });
  afterEach(async () => {
    f.client?.close();
    f.client = undefined;
    await f.server?.shutdown(graceMs);
    f.server = undefined;
    rmSync(f.dir, { recursive: true, force: true });
  });
  return f;
}
