/**
 * A CRI v1 client over a unix socket for in-process tests, e2e tests and the bench: one promise
 * method per RPC, named like the RPC in lowerCamelCase (`version`, `runPodSandbox`,
 * `pullImage`, …); server-streaming RPCs (`getContainerEvents`, `stream*`) return the grpc-js
 * readable stream, which is an async iterable of decoded messages. Errors reject with grpc-js's
 * ServiceError (`code`, `details`).
 */
import { Client, credentials, Metadata, type CallOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  CRI_METHOD_NAMES,
  CRI_METHODS,
  type CriMethodName,
  type CriRequest,
  type CriResponse,
  type MessageCodec,
} from '../../cri/handlers';
import { CRI_PACKAGE } from '../../cri/rpc-dispatch';

/** Per-call options. */
export interface CriCallOptions {
  /** Deadline in milliseconds from now. */
  timeoutMs?: number;
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
  /** Extra request metadata. */
  metadata?: Record<string, string>;
}

type MethodTable = typeof CRI_METHODS;

/** A server stream of decoded responses (async iterable); `cancel()` ends it. */
export type CriResponseStream<T> = ClientReadableStream<T>;

/** One client method per RPC. */
export type CriClientMethods = {
  [M in CriMethodName as Uncapitalize<M>]: MethodTable[M]['serverStreaming'] extends true
    ? (request?: CriRequest<M>, options?: CriCallOptions) => CriResponseStream<CriResponse<M>>
    : (request?: CriRequest<M>, options?: CriCallOptions) => Promise<CriResponse<M>>;
};

/** The CRI client. */
export type CriClient = CriClientMethods & {
  /** Closes the channel. */
  close(): void;
};

/** Options of createCriClient. */
export interface CriClientOptions {
  /** Overrides the HTTP/2 `:authority` (grpc.default_authority); grpc-js sends "localhost" otherwise. */
  authority?: string;
}

/** A grpc-js ServiceError type guard for tests. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/** Connects to the CRI server at `socketPath` (lazily; the first call dials). */
export function createCriClient(socketPath: string, opts: CriClientOptions = {}): CriClient {
  const channelOptions: Record<string, string | number> = {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  };
  if (opts.authority !== undefined) channelOptions['grpc.default_authority'] = opts.authority;
  const client = new Client(`unix://${socketPath}`, credentials.createInsecure(), channelOptions);
  const methods: Record<string, unknown> = {};
  for (const method of CRI_METHOD_NAMES) {
    const spec = CRI_METHODS[method];
    const reqCodec = spec.request as MessageCodec<unknown>;
    const resCodec = spec.response as MessageCodec<unknown>;
    const path = `/${CRI_PACKAGE}.${spec.service}/${method}`;
    const serialize = (value: unknown): Buffer => Buffer.from(reqCodec.encode(value ?? {}).finish());
    const deserialize = (bytes: Buffer): unknown => resCodec.decode(bytes);
    const name = method.charAt(0).toLowerCase() + method.slice(1);
    if (spec.serverStreaming) {
      methods[name] = (request?: unknown, options: CriCallOptions = {}) => {
        const stream = client.makeServerStreamRequest(path, serialize, deserialize, request ?? {}, toMetadata(options), toCallOptions(options));
        linkAbort(options.signal, () => stream.cancel());
        return stream;
      };
    } else {
      methods[name] = (request?: unknown, options: CriCallOptions = {}) =>
        new Promise((resolve, reject) => {
          const call = client.makeUnaryRequest(path, serialize, deserialize, request ?? {}, toMetadata(options), toCallOptions(options), (err, res) =>
            err ? reject(err) : resolve(res),
          );
          linkAbort(options.signal, () => call.cancel());
        });
    }
  }
  methods.close = () => client.close();
  return methods as CriClient;
}

function toMetadata(options: CriCallOptions): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
  return md;
}

function toCallOptions(options: CriCallOptions): CallOptions {
  return options.timeoutMs !== undefined ? { deadline: Date.now() + options.timeoutMs } : {};
}

function linkAbort(signal: AbortSignal | undefined, cancel: () => void): void {
  if (!signal) return;
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
}
