/**
 * Exec/Attach over WebSocket (kubelet's remotecommand/websocket.go): channels 0 stdin, 1 stdout,
 * 2 stderr, 3 error (Status), 4 resize; v5 lets the client half-close stdin with the close
 * signal. The server closes the WebSocket after writing the Status.
 */
import { PassThrough } from 'node:stream';
import type WebSocket from 'ws';
import type { Logger } from '../../common/logger';
import type { SessionIo, StreamingBackends } from './backends';
import { encodeStatus } from './k8s-status';
import { endWritable, runRemoteCommand } from './remote-command';
import type { RemoteCommandRequest } from './requests';
import { ResizeQueue, sessionResizeDecoder } from './resize';
import { CLOSE_SIGNAL_CHANNEL, ChannelWriter, decodeChannelMessage, encodeChannelMessage } from './ws-channels';

/** WebSocket remotecommand subprotocols we speak, preferred first ('' = no subprotocol, v1). */
export const WS_REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;

/** Serves one WebSocket exec/attach session. */
export async function serveWsRemoteCommand(
  ws: WebSocket,
  protocol: string,
  request: RemoteCommandRequest,
  backends: StreamingBackends,
  logger: Logger,
): Promise<void> {
  const base64 = protocol.includes('base64');
  const jsonStatus = protocol.startsWith('v4.') || protocol.startsWith('v5.');
  const abort = new AbortController();
  const stdin = request.stdin ? new PassThrough() : undefined;
  const resize = new ResizeQueue();
  const resizeDecoder = sessionResizeDecoder(resize, logger);
  const stdout = request.stdout ? new ChannelWriter(ws, STDOUT, base64) : undefined;
  const stderr = request.stderr && !request.tty ? new ChannelWriter(ws, STDERR, base64) : undefined;
  for (const w of [stdout, stderr]) w?.on('error', () => undefined);

  ws.on('message', (raw, isBinary) => {
    const msg = decodeChannelMessage(raw, isBinary, base64);
    if (!msg) return;
    if (msg.channel === STDIN && stdin && !stdin.writableEnded) {
      if (!stdin.write(msg.data)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (msg.channel === RESIZE && request.tty) {
      resizeDecoder.push(msg.data);
    } else if (msg.channel === CLOSE_SIGNAL_CHANNEL && protocol.startsWith('v5.') && msg.data[0] === STDIN) {
      stdin?.end();
    }
  });
  ws.on('close', () => {
    abort.abort();
    stdin?.end();
    resize.end();
  });
  ws.on('error', () => abort.abort());

  const io: SessionIo = { stdin, stdout, stderr, tty: request.tty, resize: request.tty ? resize : undefined };
  const status = await runRemoteCommand(request, io, backends, abort.signal, logger);
  resize.end();
  await Promise.all([endWritable(stdout), endWritable(stderr)]);
  const bytes = encodeStatus(status, jsonStatus);
  if (ws.readyState === ws.OPEN) {
    if (bytes) await new Promise<void>((r) => ws.send(encodeChannelMessage(ERROR, bytes, base64), () => r()));
    ws.close(1000);
  }
}
