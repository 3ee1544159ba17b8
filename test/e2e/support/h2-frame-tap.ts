/**
 * A unix-socket proxy that relays bytes unchanged and counts the HTTP/2 frames going each way (by
 * type, DATA bytes too), so a test can show which frames a real client and berthd exchanged.
 */
import * as net from 'node:net';

const PREFACE_BYTES = 24;

/** Frames seen in one direction. */
export interface FrameCounts {
  /** Frame count by type number (0 DATA, 1 HEADERS, 3 RST_STREAM, 4 SETTINGS, 8 WINDOW_UPDATE, …). */
  byType: Map<number, number>;
  dataBytes: number;
}

/** A running tap. */
export interface FrameTap {
  readonly socketPath: string;
  readonly fromClient: FrameCounts;
  readonly fromServer: FrameCounts;
  close(): Promise<void>;
}

function counter(skipPreface: boolean): { counts: FrameCounts; feed(d: Buffer): void } {
  const counts: FrameCounts = { byType: new Map(), dataBytes: 0 };
  let skip = skipPreface ? PREFACE_BYTES : 0;
  let input = Buffer.alloc(0);
  return {
    counts,
    feed(d: Buffer): void {
      input = Buffer.concat([input, d]);
      if (skip > 0) {
        const n = Math.min(skip, input.length);
        skip -= n;
        input = input.subarray(n);
      }
      while (input.length >= 9) {
        const length = input.readUIntBE(0, 3);
        if (input.length < 9 + length) break;
        const type = input[3]!;
        counts.byType.set(type, (counts.byType.get(type) ?? 0) + 1);
        if (type === 0) counts.dataBytes += length;
        input = input.subarray(9 + length);
      }
    },
  };
}

/** Listens on `socketPath` and relays each connection to `targetPath`. */
export async function startFrameTap(socketPath: string, targetPath: string): Promise<FrameTap> {
  const up = counter(true);
  const down = counter(false);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPath);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => {
      up.feed(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      down.feed(d);
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    fromClient: up.counts,
    fromServer: down.counts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
