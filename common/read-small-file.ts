/**
 * Reads a small pseudo-file (cgroup, /proc) asynchronously with the fewest libuv round trips:
 * open, read, close. fs.promises.readFile also fstats first, reads once more to see the end and
 * wraps each step in a FileHandle; for the thousands of tiny files a stats collection reads that
 * nearly doubles the cost. A read that returns less than SHORT bytes is taken as the end: the
 * kernel's seq_file fills a page before it returns short, so a shorter answer means nothing is left.
 */
import * as fs from 'node:fs';

/** Files larger than this are cut off (no cgroup or /proc file the stats read comes close). */
const MAX_BYTES = 1 << 20;
const CHUNK = 8192;
const SHORT = 2048;

/** The text of `file`, or undefined when it cannot be opened or read. */
export function readSmallFile(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    fs.open(file, 'r', (openErr, fd) => {
      if (openErr) return resolve(undefined);
      const chunks: Buffer[] = [];
      let total = 0;
      const finish = (text: string | undefined) => fs.close(fd, () => resolve(text));
      const readMore = () => {
        const buf = Buffer.allocUnsafe(CHUNK);
        fs.read(fd, buf, 0, CHUNK, null, (readErr, n) => {
          if (readErr) return finish(undefined);
          if (n > 0) {
            chunks.push(buf.subarray(0, n));
            total += n;
          }
          if (n < SHORT || total >= MAX_BYTES) return finish(Buffer.concat(chunks, total).toString('utf8'));
          readMore();
        });
      };
      readMore();
    });
  });
}
