/**
 * PortForward over SPDY (protocol portforward.k8s.io): for every forwarded connection the client
 * opens an `error` stream and a `data` stream carrying the same `requestID` and `port` headers.
 * Once both are there we connect inside the pod and copy bytes; a failure is written as text on
 * the error stream (what kubectl prints), and both streams are closed when the connection ends.
 * The session lives until the client closes it.
 */
import { setMaxListeners } from 'node:events';
import { describeError, InvalidArgumentError, UnimplementedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { StreamingBackends } from './backends';
import type { PortForwardLimiter } from './port-forward-limits';
import { forwardBothWays, parsePort } from './port-forward-pipe';
import { endWritable } from './remote-command';
import type { PortForwardSessionRequest } from './requests';
import type { SpdySession } from './spdy/session';
import type { SpdyStream } from './spdy/stream';

export const SPDY_PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'];

interface StreamPair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** The pair key: the requestID header, or for old clients one derived from the stream ids. */
function requestIdOf(stream: SpdyStream, type: string): string {
  const id = stream.header('requestid');
  if (id !== undefined && id !== '') return id;
  // Pre-requestID clients open the error stream, then the data stream right after it.
  return String(type === 'data' ? stream.id - 2 : stream.id);
}

/** Serves one upgraded SPDY connection for a port-forward request. */
export function serveSpdyPortForward(
  session: SpdySession,
  request: PortForwardSessionRequest,
  backends: StreamingBackends,
  opts: { streamCreationTimeoutMs: number; logger: Logger; limiter: PortForwardLimiter },
): Promise<void> {
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per forwarded connection, legitimately many
  const pairs = new Map<string, StreamPair>();
  const active = new Set<Promise<void>>();

  const forward = async (data: SpdyStream, error: SpdyStream): Promise<void> => {
    const port = parsePort(data.header('port'));
    data.on('error', () => undefined);
    error.on('error', () => undefined);
    error.resume();
    let release: () => void = () => undefined;
    try {
      if (port === undefined) throw new InvalidArgumentError(`invalid port header ${JSON.stringify(data.header('port'))}`);
      if (request.ports.length > 0 && !request.ports.includes(port)) throw new InvalidArgumentError(`port ${port} was not requested`);
      if (!backends.portForward) throw new UnimplementedError('port forwarding is not supported by this runtime');
      release = opts.limiter.acquire(request.podSandboxId);
      const conn = await backends.portForward.connect(request.podSandboxId, port, abort.signal);
      await forwardBothWays(data, conn);
    } catch (err) {
      const message = `error forwarding port ${port ?? data.header('port')} to pod ${request.podSandboxId}: ${describeError(err)}`;
      opts.logger.debug('port-forward connection failed', { pod: request.podSandboxId, error: message });
      if (!error.destroyed) error.write(message);
    } finally {
      release();
    }
    await endWritable(error);
    await endWritable(data);
  };

  const onStream = (stream: SpdyStream) => {
    const type = stream.header('streamtype');
    if (type !== 'data' && type !== 'error') {
      stream.destroy();
      return;
    }
    const id = requestIdOf(stream, type);
    let pair = pairs.get(id);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(id);
        opts.logger.debug('port-forward stream pair incomplete', { requestID: id });
        pair?.data?.destroy();
        pair?.error?.destroy();
      }, opts.streamCreationTimeoutMs);
      pair = { timer };
      pairs.set(id, pair);
    }
    if (pair[type]) {
      stream.destroy(); // a second stream of the same type for one request
      return;
    }
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      const job = forward(pair.data, pair.error);
      active.add(job);
      void job.finally(() => active.delete(job));
    }
  };
  session.on('stream', onStream);

  return new Promise((resolve) => {
    session.once('close', () => {
      abort.abort();
      session.off('stream', onStream);
      for (const p of pairs.values()) clearTimeout(p.timer);
      pairs.clear();
      void Promise.all([...active]).then(() => resolve());
    });
  });
}
