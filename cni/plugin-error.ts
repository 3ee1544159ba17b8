/**
 * The one place where a CNI plugin's failure output becomes a typed berth error (docs/contributing.md, "Tool output").
 * Per the CNI spec a failing plugin exits non-zero and prints `{cniVersion, code, msg, details}`
 * on stdout; older or broken plugins print only to stderr, so we fall back to that.
 */
import { BerthError, ErrorKind } from '../common/errors';

/** Well-known CNI error codes (SPEC.md "Error" section; 50/51 are STATUS codes from 1.1). */
export const CniErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  ContainerUnknown: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
} as const;

/** A CNI plugin call failed; `cniCode` is the spec's error code when the plugin gave one. */
export class CniPluginError extends BerthError {
  override readonly kind: ErrorKind;
  readonly plugin: string;
  readonly command: string;
  readonly cniCode: number | undefined;
  readonly details: string | undefined;

  constructor(
    message: string,
    info: { plugin: string; command: string; cniCode?: number; details?: string; kind?: ErrorKind },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.plugin = info.plugin;
    this.command = info.command;
    this.cniCode = info.cniCode;
    this.details = info.details;
    this.kind = info.kind ?? kindForCode(info.cniCode);
  }
}

/** "Try again later" and the STATUS codes mean the network is temporarily unavailable. */
function kindForCode(code: number | undefined): ErrorKind {
  if (code === CniErrorCode.TryAgainLater) return 'Unavailable';
  if (code === CniErrorCode.PluginNotAvailable || code === CniErrorCode.LimitedConnectivity) return 'Unavailable';
  return 'Internal';
}

/** Builds the typed error for a plugin that exited non-zero (or was killed). */
export function parsePluginFailure(input: {
  plugin: string;
  command: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}): CniPluginError {
  const { plugin, command } = input;
  const parsed = parseErrorJson(input.stdout);
  if (parsed) {
    const detail = parsed.details ? ` (${parsed.details})` : '';
    return new CniPluginError(
      `run CNI plugin ${plugin} ${command}: code ${parsed.code ?? '?'}: ${parsed.msg ?? 'no message'}${detail}`,
      { plugin, command, cniCode: parsed.code, details: parsed.details },
    );
  }
  const how = input.signal ? `killed by ${input.signal}` : `exit status ${input.exitCode}`;
  const text = lastLines(input.stderr.trim() || input.stdout.trim(), 5);
  return new CniPluginError(`run CNI plugin ${plugin} ${command}: ${how}${text ? `: ${text}` : ''}`, {
    plugin,
    command,
  });
}

/** Parses a spec error object from stdout; undefined when stdout is not one. */
function parseErrorJson(stdout: string): { code?: number; msg?: string; details?: string } | undefined {
  const text = stdout.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const v = value as Record<string, unknown>;
    if (!('code' in v) && !('msg' in v)) return undefined;
    return {
      code: typeof v.code === 'number' ? v.code : undefined,
      msg: typeof v.msg === 'string' ? v.msg : undefined,
      details: typeof v.details === 'string' && v.details !== '' ? v.details : undefined,
    };
  } catch {
    return undefined;
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  return lines.slice(Math.max(0, lines.length - n)).join(' | ');
}
