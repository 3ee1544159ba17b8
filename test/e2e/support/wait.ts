/** Polling and /proc helpers the e2e files share. */
import * as fs from 'node:fs';

import { sleep } from '../../../common/testing/wait-fixtures';

export { sleep, waitFor } from '../../../common/testing/wait-fixtures';

/** Polls `read` every 25 ms until `predicate` holds (or `timeoutMs` pass); returns the last value read. */
export async function pollValue<T>(read: () => T | Promise<T>, predicate: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!predicate(value) && Date.now() < deadline) {
    await sleep(25);
    value = await read();
  }
  return value;
}

/** Fields of /proc/<pid>/status as a map (throws when the process is gone). */
export function procStatus(pid: number): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}
