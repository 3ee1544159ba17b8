/**
 * The CRI unix socket's life on disk: parent directories created, a stale socket left by a dead
 * berthd replaced, a live one refused (two daemons on one socket would split kubelet's calls),
 * and the mode set to 0660 so only root and the socket's group can talk to the runtime.
 */
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { errnoCode, FailedPreconditionError, InvalidArgumentError } from '../common/errors';

/** Mode of the CRI socket: owner and group read/write. */
const CRI_SOCKET_MODE = 0o660;

/** Resolves true when something accepts connections on `socketPath` within `timeoutMs`. */
export function isSocketLive(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socketPath);
    const done = (live: boolean) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(live);
    };
    // A full listen backlog makes connect hang, which also means someone is listening.
    const timer = setTimeout(() => done(true), timeoutMs);
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
  });
}

/**
 * Makes `socketPath` ready for listen(): creates the parent directory, removes a stale socket
 * file, refuses when another process is serving it or when the path is not a socket.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  if (!path.isAbsolute(socketPath)) throw new InvalidArgumentError(`listen: socket path ${socketPath} is not absolute`);
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await fs.lstat(socketPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new FailedPreconditionError(`listen on ${socketPath}: the path exists and is not a socket; refusing to replace it`);
  }
  if (await isSocketLive(socketPath)) {
    throw new FailedPreconditionError(`listen on ${socketPath}: another process is already serving this socket`);
  }
  await fs.rm(socketPath, { force: true });
}

/** Listens on `socketPath` (prepared first) and sets its mode to 0660. */
export async function listenUnix(server: net.Server, socketPath: string): Promise<void> {
  await prepareSocketPath(socketPath);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(socketPath, () => {
      server.off('error', onError);
      resolve();
    });
  });
  await fs.chmod(socketPath, CRI_SOCKET_MODE);
}

/** Removes the socket file if it is still a socket (after close). */
export async function removeSocketFile(socketPath: string): Promise<void> {
  try {
    const st = await fs.lstat(socketPath);
    if (st.isSocket()) await fs.rm(socketPath, { force: true });
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
