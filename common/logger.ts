/**
 * Structured logging (docs/contributing.md, "Observability"): JSON lines to stderr by default (journald and log shippers
 * read them), or a human format. Children carry fields such as `pod` and `container`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go; tests collect them instead of writing to stderr. */
export type LogSink = (line: string) => void;

/** The logging interface every layer receives by injection. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
  /** Whether lines of `level` are written (absent = yes); hot paths skip building fields otherwise. */
  enabled?(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  sink?: LogSink;
}

/** True when `s` names a log level. */
export function isLogLevel(s: string): s is LogLevel {
  return s in LEVEL_RANK;
}

/** Creates the root logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'json';
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  return new StructuredLogger(LEVEL_RANK[level], format, sink, {});
}

/** A logger that drops everything (for tests that do not look at logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
  enabled() {
    return false;
  },
};

class StructuredLogger implements Logger {
  constructor(
    private readonly minRank: number,
    private readonly format: LogFormat,
    private readonly sink: LogSink,
    private readonly base: LogFields,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }
  enabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= this.minRank;
  }
  child(fields: LogFields): Logger {
    return new StructuredLogger(this.minRank, this.format, this.sink, { ...this.base, ...fields });
  }

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < this.minRank) return;
    const all = { ...this.base, ...fields };
    for (const [k, v] of Object.entries(all)) if (v instanceof Error) all[k] = errorFields(v);
    if (this.format === 'json') {
      this.sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...all }));
    } else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      this.sink(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ' ' + extra : ''}`);
    }
  }
}

function errorFields(err: Error): LogFields {
  const out: LogFields = { message: err.message, name: err.name };
  if (err.cause instanceof Error) out.cause = errorFields(err.cause);
  return out;
}
