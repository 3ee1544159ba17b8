/**
 * Attach: a client's streams joined to a running container's stdio through conmon.
 *
 * conmon 2.1.x binds `attach`, a SOCK_SEQPACKET socket, in the container's bundle directory (it
 * binds through the `<socket dir>/<id>` symlink to the bundle to stay within sun_path; we connect
 * to the real path, and native/ shortens long paths through /proc/self/fd). Every packet conmon
 * sends is one byte naming the stream — 2 stdout, 3 stderr (conmon's STDOUT_PIPE/STDERR_PIPE;
 * under a terminal everything comes as stdout) — then the data. What we send is written to the
 * container's stdin as is (conmon reads up to 32 KiB per packet, so we send at most 8 KiB).
 * When our write side shuts down, conmon closes the container's stdin unless it was started with
 * `--leave-stdin-open` (conmon.ts passes that unless stdin_once), which is how stdin_once works.
 * Resize: `1 <height> <width>\n` (WIN_RESIZE_EVENT) into the bundle's `ctl` fifo.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FailedPreconditionError, RuntimeError } from '../common/errors';
import type { NativeBinding, SeqpacketSocket } from '../native/binding';
import type { ContainerRecord } from './container-record';

/** The syscalls attach needs. */
export type AttachNative = Pick<NativeBinding, 'connectSeqpacket'>;

/** The client's streams (structural copy of cri/streaming's SessionIo). */
export interface AttachIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  resize?: AsyncIterable<{ width: number; height: number }>;
}

/** conmon's stream ids on the attach socket. */
const ATTACH_STDOUT = 2;
const ATTACH_STDERR = 3;
/** Largest stdin packet we send (conmon's buffer is 32 KiB). */
export const ATTACH_STDIN_CHUNK = 8192;

/** Path of conmon's attach socket for a container. */
export function attachSocketPath(rec: Pick<ContainerRecord, 'paths'>): string {
  return path.join(rec.paths.bundle, 'attach');
}

/** The control message resizing the container's terminal. */
export function resizeMessage(size: { width: number; height: number }): string {
  return `1 ${Math.max(0, Math.trunc(size.height))} ${Math.max(0, Math.trunc(size.width))}\n`;
}

/**
 * Streams until the container's monitor closes the socket (the container exited) or `signal`
 * aborts (the client left; the container keeps running).
 */
export async function runAttachSession(rec: ContainerRecord, io: AttachIo, signal: AbortSignal, native: AttachNative): Promise<void> {
  if (rec.state !== 'running') throw new FailedPreconditionError(`container ${rec.id} is ${rec.state}, not running`);
  let finish: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let socket: SeqpacketSocket | undefined;
  const deliver = (packet: Buffer): void => {
    const target = packet[0] === ATTACH_STDERR ? io.stderr : packet[0] === ATTACH_STDOUT ? io.stdout : undefined;
    if (!target || packet.length < 2) return;
    if (!target.write(packet.subarray(1))) {
      socket?.pause();
      target.once('drain', () => socket?.resume());
    }
  };
  try {
    socket = await native.connectSeqpacket(attachSocketPath(rec), {
      onPacket: (packet) => deliver(packet),
      onEnd: (error) => (error ? fail(new RuntimeError(`attach to container ${rec.id}: read its output`, { cause: error })) : finish()),
    });
  } catch (cause) {
    throw new FailedPreconditionError(`attach to container ${rec.id}: its monitor is not listening`, { cause });
  }
  const connected = socket;
  const onAbort = () => finish();
  if (signal.aborted) finish();
  else signal.addEventListener('abort', onAbort, { once: true });
  let over = false;
  void done.finally(() => (over = true)).catch(() => undefined);
  if (io.stdin) void pumpStdin(io.stdin, connected, () => over);
  if (io.resize && rec.tty) void applyResizes(rec, io.resize, () => over);
  try {
    await done;
  } finally {
    over = true;
    signal.removeEventListener('abort', onAbort);
    connected.close();
  }
}

/** Client stdin → container stdin, one packet in flight; its end shuts our write side. */
async function pumpStdin(stdin: Readable, socket: SeqpacketSocket, over: () => boolean): Promise<void> {
  try {
    for await (const chunk of stdin) {
      const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      for (let offset = 0; offset < data.length; offset += ATTACH_STDIN_CHUNK) {
        if (over()) return;
        await socket.send(data.subarray(offset, offset + ATTACH_STDIN_CHUNK));
      }
    }
    if (!over()) socket.shutdownWrite();
  } catch {
    // the session ended under us (socket closed, client gone): nothing left to deliver
  }
}

/** Client resizes → conmon's ctl fifo. Best effort: a failed resize never ends the session. */
async function applyResizes(rec: ContainerRecord, sizes: AsyncIterable<{ width: number; height: number }>, over: () => boolean): Promise<void> {
  const ctl = path.join(rec.paths.bundle, 'ctl');
  for await (const size of sizes) {
    if (over()) return;
    // O_NONBLOCK: with no reader (conmon gone) open fails with ENXIO instead of hanging.
    const handle = await fs.open(ctl, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK).catch(() => undefined);
    if (!handle) continue;
    await handle.write(resizeMessage(size)).catch(() => undefined);
    await handle.close().catch(() => undefined);
  }
}
