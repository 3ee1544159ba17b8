/**
 * Exec/Attach over SPDY (remotecommand protocols v4.channel.k8s.io … channel.k8s.io): the client
 * opens one stream per channel, named by the `streamType` header; once every expected stream is
 * there the session runs; the Status goes on the `error` stream (JSON for v4, text before) and
 * the connection is closed, which is how the client learns the command finished.
 */
import type { Logger } from '../../common/logger';
import type { SessionIo, StreamingBackends } from './backends';
import { encodeStatus } from './k8s-status';
import { endWritable, runRemoteCommand } from './remote-command';
import type { RemoteCommandRequest } from './requests';
import { ResizeQueue, sessionResizeDecoder } from './resize';
import type { SpdySession } from './spdy/session';
import type { SpdyStream } from './spdy/stream';

/** SPDY remotecommand subprotocols, newest first. */
export const SPDY_REMOTE_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** The stream types the client must open for this request and protocol. */
function expectedStreamTypes(request: RemoteCommandRequest, protocol: string): Set<StreamType> {
  const types = new Set<StreamType>(['error']);
  if (request.stdin) types.add('stdin');
  if (request.stdout) types.add('stdout');
  if (request.stderr && !request.tty) types.add('stderr');
  if (request.tty && protocol !== 'v2.channel.k8s.io' && protocol !== 'channel.k8s.io' && protocol !== '') types.add('resize');
  return types;
}

/** Serves one upgraded SPDY connection for an exec/attach request. */
export async function serveSpdyRemoteCommand(
  session: SpdySession,
  protocol: string,
  request: RemoteCommandRequest,
  backends: StreamingBackends,
  opts: { streamCreationTimeoutMs: number; logger: Logger },
): Promise<void> {
  const expected = expectedStreamTypes(request, protocol);
  const streams = new Map<StreamType, SpdyStream>();
  const resize = new ResizeQueue();
  const resizeDecoder = sessionResizeDecoder(resize, opts.logger);
  const abort = new AbortController();
  session.once('close', () => abort.abort());

  const allThere = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), opts.streamCreationTimeoutMs);
    const onStream = (stream: SpdyStream) => {
      const type = stream.header('streamtype') as StreamType | undefined;
      if (!type || !expected.has(type) || streams.has(type)) {
        opts.logger.debug('unexpected remotecommand stream', { streamType: type });
        stream.destroy();
        return;
      }
      streams.set(type, stream);
      if (type === 'resize') stream.on('data', (c: Buffer) => resizeDecoder.push(c)).on('end', () => resize.end());
      if (type === 'error' || type === 'stdout' || type === 'stderr') stream.resume(); // nothing is read from them
      if (streams.size === expected.size) done(true);
    };
    const onClose = () => done(false);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      session.off('stream', onStream);
      session.off('close', onClose);
      resolve(ok);
    };
    session.on('stream', onStream);
    session.on('close', onClose);
  });
  if (!allThere) {
    opts.logger.warn('remotecommand client did not open its streams in time', { expected: [...expected], got: [...streams.keys()] });
    session.destroy();
    return;
  }

  const stdout = streams.get('stdout');
  const stderr = streams.get('stderr');
  for (const s of [stdout, stderr]) s?.on('error', () => undefined);
  const io: SessionIo = {
    stdin: streams.get('stdin'),
    stdout,
    stderr,
    tty: request.tty,
    resize: request.tty ? resize : undefined,
  };
  if (request.tty && !streams.has('resize')) resize.end();

  const status = await runRemoteCommand(request, io, backends, abort.signal, opts.logger);
  resize.end();
  await Promise.all([endWritable(stdout), endWritable(stderr)]);
  const errorStream = streams.get('error') as SpdyStream;
  const bytes = encodeStatus(status, protocol === 'v4.channel.k8s.io');
  if (bytes && !errorStream.destroyed) errorStream.write(bytes);
  await endWritable(errorStream);
  session.close();
}
