/** Things a test opens that must be closed after it, pass or fail. */

/** Something with an asynchronous close. */
export interface Closable {
  close(): Promise<void> | void;
}

/**
 * Registers an afterEach that closes (in reverse order) everything handed to `add` during the
 * test; `add` returns its argument so a test can write `const pair = closing.add(await open())`.
 */
export function closeAfterEach(): { add<T extends Closable>(thing: T): T } {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
  });
  return {
    add<T extends Closable>(thing: T): T {
      open.push(thing);
      return thing;
    },
  };
}
