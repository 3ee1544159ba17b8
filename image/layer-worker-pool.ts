/**
 * Unpacks big layers on worker threads, so hashing, decompression, tar parsing and file writes of
 * concurrent layers use every core instead of queueing on the event loop. The main thread only
 * receives the HTTP body and forwards it in batches (copied once into transferable buffers), with
 * a credit window so a slow disk pauses the download instead of filling memory.
 *
 * Workers are started on demand (at most `maxWorkers`), kept for `idleTimeoutMs` after a layer
 * (unref'd: an idle worker never keeps the process alive) and then stopped, so pulls that follow
 * each other do not pay the thread start (~50 ms). A worker whose layer failed is never reused.
 * A layer's promise settles only after its worker has stopped touching the layer directory, so
 * the caller may delete it right away.
 */
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { RuntimeError } from '../common/errors';
import { UnpackNative, UnpackResult, unpackFailure } from './layer-unpack';
import { NativeCall, ToWorkerMessage, UnpackJob, deserializeError, isFromWorkerMessage, serializeError } from './layer-worker-protocol';

export interface LayerWorkerPoolOptions {
  /** Idle workers are stopped after this long (default 30 s). */
  readonly idleTimeoutMs?: number;
  /** Threads at most; more layers wait for one (default 4, the default layer concurrency of a pull). */
  readonly maxWorkers?: number;
  /** Script to run (default: layer-worker.js next to this file). */
  readonly workerScript?: string;
}

/** A layer to unpack on a worker. */
export interface WorkerUnpackRequest {
  /** Opens the compressed blob; called while a worker is found or started, so a cold thread boots during the request. */
  readonly open: () => Promise<Readable>;
  readonly job: UnpackJob;
  readonly native: UnpackNative;
  /** Called with each compressed byte count received. */
  readonly onBytes?: (n: number) => void;
}

/** Bytes copied into one message to the worker. */
const BATCH_BYTES = 512 * 1024;
/** Forwarded but not yet consumed bytes at which the download pauses (resumes at half). */
const WINDOW_BYTES = 8 * 1024 * 1024;
/** How long a cancelled worker gets to stop by itself before it is terminated. */
const CANCEL_GRACE_MS = 5_000;

interface PooledWorker {
  readonly worker: Worker;
  /** Set when the thread has exited (crashed or terminated). */
  exited: boolean;
  /** Set while a layer runs: asks the worker to stop it (it closes its files and answers `failed`). */
  cancel?: (reason: Error) => void;
  idleTimer?: NodeJS.Timeout;
}

export class LayerWorkerPool {
  private readonly idle: PooledWorker[] = [];
  private readonly all = new Set<PooledWorker>();
  private readonly waiters: Array<{ resolve: (pw: PooledWorker) => void; reject: (err: Error) => void }> = [];
  private readonly idleTimeoutMs: number;
  private readonly maxWorkers: number;
  private readonly script: string;
  private users = 0;

  constructor(opts: LayerWorkerPoolOptions = {}) {
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    // 4 beat one per core on 2 cores (53 MB, 3 big layers: median 287 vs 312 ms): a worker waiting
    // for its download leaves the core to another.
    this.maxWorkers = Math.max(1, opts.maxWorkers ?? 4);
    this.script = opts.workerScript ?? path.join(__dirname, 'layer-worker.js');
  }

  /** Threads currently alive (busy or idle). */
  get size(): number {
    return this.all.size;
  }

  /** Unpacks one layer on a worker; rejects with the same errors in-process unpacking gives. */
  async unpack(req: WorkerUnpackRequest): Promise<UnpackResult> {
    const [worker, opened] = await Promise.allSettled([this.acquire(), req.open()]);
    if (worker.status === 'rejected' || opened.status === 'rejected') {
      if (worker.status === 'fulfilled') this.release(worker.value);
      if (opened.status === 'fulfilled') opened.value.destroy();
      // The open error as it is (in-process unpacking lets it through the same way).
      throw opened.status === 'rejected' ? opened.reason : (worker as PromiseRejectedResult).reason;
    }
    const pw = worker.value;
    try {
      const result = await runOnWorker(pw, opened.value, req);
      this.release(pw);
      return result;
    } catch (err) {
      await this.discard(pw);
      throw err;
    }
  }

  /** Counts a user of a shared pool (see `release`). */
  retain(): void {
    this.users++;
  }

  /** Drops a user; the last one stops every thread. */
  async releaseUser(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) await this.stopAll();
  }

  /** Stops every thread now: layers in progress and waiting fail; the pool starts new threads on demand later. */
  async stopAll(): Promise<void> {
    const reason = new RuntimeError('unpack layer: the layer worker pool was stopped');
    for (const w of this.waiters.splice(0)) w.reject(reason);
    await Promise.all(
      [...this.all].map(async (pw) => {
        if (!pw.cancel) return this.discard(pw);
        // A busy worker stops its layer itself (closing its files); unpack() then discards it.
        const exited = new Promise((resolve) => pw.worker.once('exit', resolve));
        pw.cancel(reason);
        await exited;
      }),
    );
  }

  private acquire(): Promise<PooledWorker> {
    const reused = this.idle.pop();
    if (reused) {
      clearTimeout(reused.idleTimer);
      reused.worker.ref();
      return Promise.resolve(reused);
    }
    if (this.all.size < this.maxWorkers) return Promise.resolve(this.spawn());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private spawn(): PooledWorker {
    const worker = new Worker(this.script);
    const pw: PooledWorker = { worker, exited: false };
    worker.on('exit', () => {
      pw.exited = true;
      this.forget(pw);
    });
    // Uncaught errors inside the worker end the current layer (runOnWorker listens); the thread exits.
    worker.on('error', () => undefined);
    this.all.add(pw);
    return pw;
  }

  private release(pw: PooledWorker): void {
    if (pw.exited) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(pw);
      return;
    }
    pw.worker.unref();
    pw.idleTimer = setTimeout(() => void this.discard(pw), this.idleTimeoutMs);
    pw.idleTimer.unref();
    this.idle.push(pw);
  }

  /** Drops `pw` from the books and hands its slot to a waiting layer. */
  private forget(pw: PooledWorker): void {
    clearTimeout(pw.idleTimer);
    const i = this.idle.indexOf(pw);
    if (i >= 0) this.idle.splice(i, 1);
    if (!this.all.delete(pw)) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.spawn());
  }

  private async discard(pw: PooledWorker): Promise<void> {
    this.forget(pw);
    if (!pw.exited) await pw.worker.terminate();
  }
}

let shared: LayerWorkerPool | undefined;

/** The process-wide pool: threads are a per-process resource, like libuv's thread pool. */
export function sharedLayerWorkerPool(): LayerWorkerPool {
  shared ??= new LayerWorkerPool();
  return shared;
}

/**
 * Batches source chunks into transferable buffers posted to the worker, and pauses the source
 * while more than WINDOW_BYTES are posted but not yet consumed.
 */
class ChunkSender {
  private inFlight = 0;
  private paused = false;
  private batch: Buffer<ArrayBuffer> | undefined;
  private batchLen = 0;

  constructor(
    private readonly source: Readable,
    private readonly post: (msg: ToWorkerMessage, transfer?: ArrayBuffer[]) => void,
  ) {}

  /** Copies `chunk` into batches, posting each full one. */
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      // allocUnsafeSlow: an unpooled, not zero-filled ArrayBuffer of its own, so it can be transferred.
      if (!this.batch) this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
      const n = Math.min(chunk.length - off, BATCH_BYTES - this.batchLen);
      this.batch.set(chunk.subarray(off, off + n), this.batchLen);
      this.batchLen += n;
      off += n;
      if (this.batchLen === BATCH_BYTES) this.flush();
    }
  }

  /** Posts the partial batch, if any. */
  flush(): void {
    const batch = this.batch;
    if (!batch || this.batchLen === 0) return;
    const whole = batch.byteOffset === 0 && batch.buffer.byteLength === this.batchLen;
    const data = whole ? batch.buffer : batch.buffer.slice(batch.byteOffset, batch.byteOffset + this.batchLen);
    this.inFlight += this.batchLen;
    this.batch = undefined;
    this.batchLen = 0;
    this.post({ type: 'chunk', data }, [data]);
    if (this.inFlight >= WINDOW_BYTES && !this.paused) {
      this.paused = true;
      this.source.pause();
    }
  }

  /** The worker consumed `bytes`; resumes the source below half the window unless `mayResume` is false. */
  consumed(bytes: number, mayResume: boolean): void {
    this.inFlight -= bytes;
    if (this.paused && mayResume && this.inFlight <= WINDOW_BYTES / 2) {
      this.paused = false;
      this.source.resume();
    }
  }
}

/** Runs a native call the worker asked for on the main thread and answers it (unless the worker is gone). */
function answerNativeCall(pw: PooledWorker, native: WorkerUnpackRequest['native'], id: number, call: NativeCall): void {
  const post = (msg: ToWorkerMessage): void => pw.worker.postMessage(msg);
  // Through a promise chain so that a binding throwing synchronously also answers the worker.
  const done = Promise.resolve().then(() =>
    call.op === 'mknod'
      ? native.mknod(call.path, call.mode, call.major, call.minor)
      : native.lsetxattr(call.path, call.name, Buffer.from(call.value.buffer, call.value.byteOffset, call.value.byteLength)),
  );
  done.then(
    () => !pw.exited && post({ type: 'native-result', id }),
    (err: unknown) => !pw.exited && post({ type: 'native-result', id, error: serializeError(err) }),
  );
}

/**
 * Streams `source` to the worker and settles with the layer's result once the worker is done
 * with the directory. A source error (download failed, pull cancelled) wins over what the worker
 * reports, and is classified exactly as in-process unpacking classifies it.
 */
function runOnWorker(pw: PooledWorker, source: Readable, req: WorkerUnpackRequest): Promise<UnpackResult> {
  const { worker } = pw;
  const post = (msg: ToWorkerMessage, transfer?: ArrayBuffer[]): void => worker.postMessage(msg, transfer);
  const sender = new ChunkSender(source, post);

  return new Promise<UnpackResult>((resolve, reject) => {
    let sourceError: unknown;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    /** The error to report: the source's when it failed, else the worker's. */
    const failure = (workerError: () => unknown): unknown => (sourceError !== undefined ? unpackFailure(sourceError) : workerError());

    const onData = (chunk: Buffer): void => {
      req.onBytes?.(chunk.length);
      sender.push(chunk);
    };
    const onEnd = (): void => {
      sender.flush();
      post({ type: 'end' });
    };
    const onSourceError = (err: unknown): void => {
      if (sourceError !== undefined || settled) return;
      sourceError = err;
      source.pause();
      post({ type: 'cancel', error: serializeError(err) });
      // The worker answers `failed` once it has stopped; if it does not, terminate it.
      graceTimer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
    };

    const finish = (outcome: { result: UnpackResult } | { error: unknown }): void => {
      if (settled) return;
      settled = true;
      pw.cancel = undefined;
      clearTimeout(graceTimer);
      worker.off('message', onMessage);
      worker.off('error', onWorkerError);
      worker.off('exit', onExit);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onSourceError);
      if ('result' in outcome) {
        resolve(outcome.result);
        return;
      }
      source.on('error', () => undefined);
      source.destroy();
      reject(outcome.error);
    };

    const onMessage = (msg: unknown): void => {
      if (!isFromWorkerMessage(msg)) return;
      switch (msg.type) {
        case 'consumed':
          sender.consumed(msg.bytes, sourceError === undefined);
          return;
        case 'native':
          answerNativeCall(pw, req.native, msg.id, msg.call);
          return;
        case 'done':
          finish(sourceError !== undefined ? { error: unpackFailure(sourceError) } : { result: msg.result });
          return;
        case 'failed':
          finish({ error: failure(() => deserializeError(msg.error)) });
          return;
      }
    };
    const onWorkerError = (err: Error): void => finish({ error: failure(() => new RuntimeError('unpack layer in a worker thread', { cause: err })) });
    const onExit = (code: number): void => finish({ error: failure(() => new RuntimeError(`unpack layer: worker thread exited with code ${code}`)) });

    pw.cancel = onSourceError;
    worker.on('message', onMessage);
    worker.on('error', onWorkerError);
    worker.on('exit', onExit);
    post({ type: 'start', job: req.job });
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onSourceError);
  });
}
