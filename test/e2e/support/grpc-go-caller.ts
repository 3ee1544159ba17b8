/**
 * The grpc-go CRI caller of test/e2e/grpc-go (kubelet's and crictl's client library): builds it
 * offline against Debian's packaged grpc-go sources, runs it on a socket and turns its JSON lines
 * into decoded CRI responses (requests and responses are encoded with the project's own codecs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { CRI_METHODS, serviceOf, type CriMethodName, type CriRequest, type CriResponse } from '../../../cri/handlers';

/** Where Debian's golang-*-dev packages put their sources (a GOPATH). */
const DEBIAN_GOPATH = '/usr/share/gocode';
const GO_SOURCE = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'e2e', 'grpc-go', 'main.go');
const MISSING_HINT = 'scripts/install-deps.sh installs golang-go and golang-google-grpc-dev';

/** Builds the caller into `dir` (GOPATH mode, no network); returns the binary's path. Throws with the install hint when Go or grpc-go is missing. */
export function buildGoCaller(dir: string): string {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) throw new Error(`the Go toolchain is missing (go version: ${version.error?.message ?? version.stderr}); ${MISSING_HINT}`);
  if (!fs.existsSync(path.join(DEBIAN_GOPATH, 'src', 'google.golang.org', 'grpc', 'clientconn.go'))) {
    throw new Error(`grpc-go's sources are missing from ${DEBIAN_GOPATH}; ${MISSING_HINT}`);
  }
  const binary = path.join(dir, 'cri-call');
  const env = { ...process.env, GO111MODULE: 'off', GOPATH: DEBIAN_GOPATH, GOCACHE: path.join(dir, 'gocache'), GOFLAGS: '', GOPROXY: 'off' };
  const build = spawnSync('go', ['build', '-o', binary, GO_SOURCE], { encoding: 'utf8', env, cwd: path.dirname(GO_SOURCE) });
  if (build.status !== 0) throw new Error(`build the grpc-go caller with ${version.stdout.trim()}: ${build.stderr || build.error?.message}; ${MISSING_HINT}`);
  return binary;
}

/** One call's outcome as grpc-go saw it (responses still encoded). */
export interface RawCallResult {
  code: number;
  codeName: string;
  message: string;
  /** Base64 response messages. */
  responses: string[];
  elapsedMs: number;
}

/** One call's outcome with the responses decoded. */
export interface CallResult<R> extends Omit<RawCallResult, 'responses'> {
  responses: R[];
  /** Encoded size of each response, in bytes. */
  responseBytes: number[];
}

/** Options of one request line. */
export interface CallOptions {
  timeoutMs?: number;
  /** Issue the same call this many times at once on the connection (default 1). */
  concurrency?: number;
  /** Server streaming: stop after this many messages (0: until the stream ends). */
  maxMessages?: number;
}

interface Answer {
  id?: string;
  sent?: boolean;
  error?: string;
  calls?: RawCallResult[];
}

interface Pending {
  resolve(calls: RawCallResult[]): void;
  reject(err: Error): void;
  sent?: () => void;
}

/** A running caller: one grpc-go ClientConn on the socket for its whole life. */
export class GoCaller {
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private stderr = '';
  private exitError: Error | undefined;

  private constructor(readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (this.stderr += d));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.once('exit', (code, signal) => {
      this.exitError = new Error(`grpc-go caller exited (${code ?? signal}): ${this.stderr}`);
      for (const p of this.pending.values()) p.reject(this.exitError);
      this.pending.clear();
    });
  }

  /** Starts the caller on `socketPath` (it dials before reading its first line). */
  static start(binary: string, socketPath: string): GoCaller {
    return new GoCaller(spawn(binary, ['-socket', socketPath], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Calls a unary CRI method; one result per concurrent call. */
  async call<M extends CriMethodName>(method: M, request: CriRequest<M>, opts: CallOptions = {}): Promise<Array<CallResult<CriResponse<M>>>> {
    const bytes = CRI_METHODS[method].request.encode(request as never).finish();
    const raw = await this.send(methodPath(method), bytes, { ...opts, stream: false }).done;
    return raw.map((r) => decodeResult(method, r));
  }

  /** Calls a unary CRI method once and returns its response; throws with the status unless OK. */
  async ok<M extends CriMethodName>(method: M, request: CriRequest<M>, opts: CallOptions = {}): Promise<CriResponse<M>> {
    const [r] = await this.call(method, request, opts);
    if (r!.code !== 0) throw new Error(`${method} through grpc-go: ${r!.codeName}: ${r!.message}`);
    return r!.responses[0]!;
  }

  /** Sends raw request bytes to a method path. */
  raw(methodPath: string, bytes: Uint8Array, opts: CallOptions & { stream?: boolean } = {}): Promise<RawCallResult[]> {
    return this.send(methodPath, bytes, { ...opts, stream: opts.stream ?? false }).done;
  }

  /** Opens a server-streaming call: `sent` resolves once the request is on the wire, `done` when the call ended. */
  stream<M extends CriMethodName>(method: M, request: CriRequest<M>, opts: CallOptions = {}): { sent: Promise<void>; done: Promise<CallResult<CriResponse<M>>> } {
    const bytes = CRI_METHODS[method].request.encode(request as never).finish();
    const { sent, done } = this.send(methodPath(method), bytes, { ...opts, stream: true });
    return { sent, done: done.then((raw) => decodeResult(method, raw[0]!)) };
  }

  /** Count of the caller's open sockets besides stdio (Node's pipes are socketpairs): its connections. */
  openSockets(): number {
    const fdDir = `/proc/${this.child.pid}/fd`;
    return fs.readdirSync(fdDir).filter((fd) => {
      if (Number(fd) <= 2) return false;
      try {
        return fs.readlinkSync(path.join(fdDir, fd)).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  }

  /** Closes stdin and waits for the exit (SIGKILL after 5 s). Never throws. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private send(methodPath: string, bytes: Uint8Array, opts: CallOptions & { stream: boolean }): { sent: Promise<void>; done: Promise<RawCallResult[]> } {
    const id = String(this.nextId++);
    let onSent: () => void = () => undefined;
    const sent = new Promise<void>((resolve) => (onSent = resolve));
    const done = new Promise<RawCallResult[]>((resolve, reject) => {
      if (this.exitError) return reject(this.exitError);
      this.pending.set(id, { resolve, reject, sent: onSent });
      const line = {
        id,
        method: methodPath,
        request: Buffer.from(bytes).toString('base64'),
        timeoutMs: opts.timeoutMs ?? 30_000,
        stream: opts.stream,
        maxMessages: opts.maxMessages ?? 0,
        concurrency: opts.concurrency ?? 1,
      };
      this.child.stdin!.write(`${JSON.stringify(line)}\n`);
    });
    return { sent, done };
  }

  private onLine(line: string): void {
    const answer = JSON.parse(line) as Answer;
    const p = answer.id === undefined ? undefined : this.pending.get(answer.id);
    if (!p) throw new Error(`grpc-go caller: answer for no pending call: ${line}`);
    if (answer.sent) return p.sent?.();
    this.pending.delete(answer.id!);
    if (answer.error !== undefined) p.reject(new Error(`grpc-go caller: ${answer.error}`));
    else p.resolve(answer.calls ?? []);
  }
}

/** `/runtime.v1.RuntimeService/Version` for `Version`. */
export function methodPath(method: CriMethodName): string {
  return `/runtime.v1.${serviceOf(method)}/${method}`;
}

function decodeResult<M extends CriMethodName>(method: M, raw: RawCallResult): CallResult<CriResponse<M>> {
  const buffers = raw.responses.map((b) => Buffer.from(b, 'base64'));
  const codec = CRI_METHODS[method].response;
  return { ...raw, responses: buffers.map((b) => codec.decode(b) as CriResponse<M>), responseBytes: buffers.map((b) => b.length) };
}
