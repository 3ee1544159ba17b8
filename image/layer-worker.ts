/**
 * Entry point of a layer worker thread (started by image/layer-worker-pool.ts): unpacks one layer
 * at a time, with the same code as in-process unpacking — compressed digest and size verified
 * while streaming (VerifyingStream), then unpackLayer (decompress, DiffID, tar, files). The
 * compressed bytes arrive as transferred ArrayBuffers; native calls (whiteouts, xattrs, devices)
 * go back to the main thread, where the injected NativeBinding lives. Protocol:
 * image/layer-worker-protocol.ts.
 */
import { Readable, Transform, TransformCallback, pipeline } from 'node:stream';
import { MessagePort, parentPort } from 'node:worker_threads';
import { VerifyingStream } from './content-store';
import { UnpackNative, unpackLayer } from './layer-unpack';
import {
  FromWorkerMessage,
  NativeCall,
  UnpackJob,
  deserializeError,
  isToWorkerMessage,
  serializeError,
} from './layer-worker-protocol';

/** Reports every chunk that moves on from the input queue, so the main thread can send more. */
class ConsumedCounter extends Transform {
  constructor(private readonly report: (bytes: number) => void) {
    super({ highWaterMark: 0 });
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.report(chunk.length);
    cb(null, chunk);
  }
}

/** The layer in progress: its input queue and the native calls waiting for an answer. */
class LayerJob {
  readonly input = new Readable({ read: () => undefined, highWaterMark: 0 });
  private readonly pendingNative = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextNativeId = 1;

  constructor(
    private readonly port: MessagePort,
    readonly job: UnpackJob,
  ) {}

  /** Runs the unpack and reports done/failed; never rejects. */
  async run(): Promise<void> {
    const counted = pipeline(this.input, new ConsumedCounter((bytes) => this.send({ type: 'consumed', bytes })), () => undefined);
    const verified =
      this.job.digest !== undefined ? pipeline(counted, new VerifyingStream(this.job.digest, this.job.size), () => undefined) : counted;
    try {
      const result = await unpackLayer(verified, this.job.compression, this.job.root, {
        native: this.nativeProxy(),
        digest: this.job.digest,
        zstdPath: this.job.zstdPath,
        preserveOwners: this.job.preserveOwners,
      });
      this.send({ type: 'done', result });
    } catch (err) {
      this.input.destroy();
      this.send({ type: 'failed', error: serializeError(err) });
    }
  }

  nativeResult(id: number, error: Error | undefined): void {
    const waiter = this.pendingNative.get(id);
    if (!waiter) return;
    this.pendingNative.delete(id);
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  private nativeProxy(): UnpackNative {
    return {
      mknod: (path, mode, major, minor) => this.callNative({ op: 'mknod', path, mode, major, minor }),
      lsetxattr: (path, name, value) => this.callNative({ op: 'lsetxattr', path, name, value: new Uint8Array(value) }),
    };
  }

  private callNative(call: NativeCall): Promise<void> {
    const id = this.nextNativeId++;
    return new Promise<void>((resolve, reject) => {
      this.pendingNative.set(id, { resolve, reject });
      this.send({ type: 'native', id, call });
    });
  }

  private send(msg: FromWorkerMessage): void {
    this.port.postMessage(msg);
  }
}

function serve(port: MessagePort): void {
  let current: LayerJob | undefined;
  port.on('message', (msg: unknown) => {
    if (!isToWorkerMessage(msg)) return;
    switch (msg.type) {
      case 'start': {
        const job = new LayerJob(port, msg.job);
        current = job;
        void job.run().finally(() => {
          if (current === job) current = undefined;
        });
        return;
      }
      case 'chunk':
        current?.input.push(Buffer.from(msg.data));
        return;
      case 'end':
        current?.input.push(null);
        return;
      case 'cancel':
        current?.input.destroy(deserializeError(msg.error));
        return;
      case 'native-result':
        current?.nativeResult(msg.id, msg.error ? deserializeError(msg.error) : undefined);
        return;
    }
  });
}

if (!parentPort) throw new Error('image/layer-worker must run in a worker thread');
serve(parentPort);
