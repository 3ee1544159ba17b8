/**
 * Copies bytes both ways between a client channel and a connection inside the pod, with
 * half-close passed through, and resolves when both directions are done or either side failed.
 */
import type { Duplex } from 'node:stream';

/** Pipes `client` <-> `pod`; resolves once both directions ended (or one side broke). */
export function forwardBothWays(client: Duplex, pod: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let clientEnded = false;
    let podEnded = false;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      client.unpipe(pod);
      pod.unpipe(client);
      if (!pod.destroyed) pod.destroy();
      resolve();
    };
    client.pipe(pod, { end: true });
    pod.pipe(client, { end: true });
    client.on('end', () => {
      clientEnded = true;
      if (podEnded) finish();
    });
    pod.on('end', () => {
      podEnded = true;
      if (clientEnded) finish();
    });
    client.on('error', finish);
    pod.on('error', finish);
    client.on('close', finish);
    pod.on('close', finish);
  });
}

/** A port number from a header or query value, or undefined when it is not one. */
export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value.trim())) return undefined;
  const port = Number(value.trim());
  return port >= 1 && port <= 65535 ? port : undefined;
}
