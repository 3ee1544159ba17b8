/**
 * The ONE place where runc's (and crun's) stderr and log output become typed errors
 * (docs/contributing.md, "Tool output"). runc prints `time="…" level=error msg="…"` lines or plain text.
 */
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, RuntimeError, type BerthError } from '../common/errors';

/** The human message inside runc's output: the last `msg="…"` of an error line, or the trimmed text. */
export function runcMessage(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(lines[i]);
    if (m && /level=(error|fatal)/.test(lines[i])) return m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    if (lines[i].startsWith('{')) {
      try {
        const rec = JSON.parse(lines[i]) as { level?: string; msg?: string };
        if (rec.msg && (rec.level === 'error' || rec.level === 'fatal')) return rec.msg;
      } catch {
        // not JSON: fall through to the plain text
      }
    }
  }
  return lines.join('; ') || 'no output';
}

/** A typed error for a failed `runc <verb>` on container `id`. */
export function runcError(verb: string, id: string, output: string, exitCode: number | null): BerthError {
  const msg = runcMessage(output);
  const what = `runc ${verb} ${id}: ${msg}`;
  // The process could not be exec'd: a config problem (checked first: its text says "not found").
  if (/executable file not found|exec: "[^"]*": .*(no such file or directory|permission denied|is a directory)|exec format error/i.test(msg)) {
    return new InvalidArgumentError(what);
  }
  if (/container( \S+)? does not exist|container not found/i.test(msg)) return new NotFoundError(what);
  if (/container not running|cannot exec in a stopped|is not running|process already finished|container .* is paused|cannot start a container|not in created state/i.test(msg)) {
    return new FailedPreconditionError(what);
  }
  return new RuntimeError(exitCode === null ? what : `${what} (exit ${exitCode})`);
}
