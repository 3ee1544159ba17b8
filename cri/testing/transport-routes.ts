/**
 * Test-only routes on the bare transport: `/t/Echo` answers its request, `/t/Hold` waits until
 * cancelled (recording it), `/t/Big` answers `size` bytes, `/t/Throw` throws (a bug), `/t/Stream` writes messages with
 * backpressure.
 */
import type { Route, ServerCall } from '../transport/server-call';

/** What the test routes saw. */
export interface RouteLog {
  cancelled: number;
  held: ServerCall[];
  /** Resolved writes of /t/Stream. */
  written: number;
}

/** The routes, and the log they write to. */
export function testRoutes(opts: { bigBytes?: number; streamMessages?: number; streamBytes?: number } = {}): { routes: Map<string, Route>; log: RouteLog } {
  const log: RouteLog = { cancelled: 0, held: [], written: 0 };
  const routes = new Map<string, Route>([
    ['/t/Echo', { serverStreaming: false, serve: (call) => call.sendUnary(call.request) }],
    [
      '/t/Hold',
      {
        serverStreaming: false,
        serve: (call) => {
          log.held.push(call);
          call.onCancel(() => (log.cancelled += 1));
        },
      },
    ],
    ['/t/Big', { serverStreaming: false, serve: (call) => call.sendUnary(Buffer.alloc(opts.bigBytes ?? 100_000, 7)) }],
    [
      '/t/Throw',
      {
        serverStreaming: false,
        serve: () => {
          throw new Error('route bug');
        },
      },
    ],
    ['/t/Fail', { serverStreaming: false, serve: (call) => call.end(5, call.request.toString('utf8')) }],
    [
      '/t/Stream',
      {
        serverStreaming: true,
        serve: (call) =>
          void (async () => {
            for (let i = 0; i < (opts.streamMessages ?? 10); i++) {
              if (!call.write(Buffer.alloc(opts.streamBytes ?? 50, i))) await new Promise<void>((resolve) => call.onWritable(resolve));
              if (call.cancelled) return;
              log.written += 1;
            }
            call.end(0, '');
          })(),
      },
    ],
  ]);
  return { routes, log };
}
