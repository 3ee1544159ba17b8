/** Two connected TCP sockets over loopback, for tests of protocols spoken on a real connection. */
import * as net from 'node:net';

/** The two ends and the listener that accepted the server end. */
export interface LoopbackSockets {
  client: net.Socket;
  server: net.Socket;
  /** Destroys `ends` (the sockets, or what was built on them), then stops the listener. */
  closeWith(...ends: Array<{ destroy(): unknown }>): Promise<void>;
}

/** Connects a client to a fresh listener on 127.0.0.1; `ignoreClientErrors` for a client a test will see reset. */
export async function loopbackSockets(opts: { ignoreClientErrors?: boolean } = {}): Promise<LoopbackSockets> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  if (opts.ignoreClientErrors) client.on('error', () => undefined);
  await new Promise((r) => client.once('connect', r));
  const server = await accepted;
  const closeWith = (...ends: Array<{ destroy(): unknown }>) => {
    for (const end of ends) end.destroy();
    return new Promise<void>((r) => listener.close(() => r()));
  };
  return { client, server, closeWith };
}
