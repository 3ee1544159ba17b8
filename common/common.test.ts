import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeJsonAtomic, readJsonIfExists } from './atomic-file';
import { CleanupStack } from './cleanup-stack';
import { InvalidArgumentError, NotFoundError, RuntimeError, errorKindOf, describeError } from './errors';
import { KeyedMutex } from './keyed-mutex';
import { createLogger } from './logger';

describe('common/errors', () => {
  it('finds the first typed error along the cause chain', () => {
    const wrapped = new Error('start container x', { cause: new NotFoundError('image busybox') });
    expect(errorKindOf(wrapped)).to.equal('NotFound');
    expect(errorKindOf(new RuntimeError('runc failed'))).to.equal('Internal');
    expect(errorKindOf(new Error('plain'))).to.equal(undefined);
  });
  it('describes an error with its causes', () => {
    const err = new Error('create pod p', { cause: new InvalidArgumentError('metadata.name is empty') });
    expect(describeError(err)).to.equal('create pod p: metadata.name is empty');
  });
});

describe('common/cleanup-stack', () => {
  it('undoes newest first and rethrows the original error', async () => {
    const order: string[] = [];
    const boom = new Error('step 3 failed');
    let caught: unknown;
    try {
      await CleanupStack.run(async (stack) => {
        stack.push('one', () => void order.push('one'));
        stack.push('two', () => void order.push('two'));
        throw boom;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.equal(boom);
    expect(order).to.deep.equal(['two', 'one']);
  });
  it('keeps the original error when an undo step fails, and mentions the undo failure', async () => {
    let caught: Error | undefined;
    try {
      await CleanupStack.run(async (stack) => {
        stack.push('unmount shm', () => {
          throw new Error('EBUSY');
        });
        throw new Error('cni add failed');
      });
    } catch (err) {
      caught = err as Error;
    }
    expect(caught?.message).to.match(/^cni add failed/);
    expect(caught?.message).to.contain('undo unmount shm');
  });
  it('does not undo after success', async () => {
    let undone = false;
    const v = await CleanupStack.run(async (stack) => {
      stack.push('x', () => void (undone = true));
      return 42;
    });
    expect(v).to.equal(42);
    expect(undone).to.equal(false);
  });
});

describe('common/atomic-file', () => {
  it('writes JSON atomically and leaves no temp file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'berth-atomic-'));
    try {
      const file = path.join(dir, 'state.json');
      await writeJsonAtomic(file, { a: 1 });
      await writeJsonAtomic(file, { a: 2 });
      expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.equal({ a: 2 });
      expect(readdirSync(dir)).to.deep.equal(['state.json']);
      expect(await readJsonIfExists(path.join(dir, 'missing.json'))).to.equal(undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('common/keyed-mutex', () => {
  it('serialises calls with the same key and not others', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const slow = (tag: string, ms: number) => async () => {
      events.push(`${tag}+`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`${tag}-`);
    };
    await Promise.all([mutex.run('a', slow('a1', 20)), mutex.run('a', slow('a2', 1)), mutex.run('b', slow('b1', 1))]);
    expect(events.indexOf('a1-')).to.be.lessThan(events.indexOf('a2+'));
    expect(events.indexOf('b1+')).to.be.lessThan(events.indexOf('a1-'));
    expect(mutex.isBusy('a')).to.equal(false);
  });
});

describe('common/logger', () => {
  it('writes JSON lines with child fields and respects the level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', sink: (l) => lines.push(l) });
    log.child({ pod: 'p1' }).info('pod started', { ms: 3 });
    log.debug('hidden');
    expect(lines).to.have.length(1);
    const rec = JSON.parse(lines[0]);
    expect(rec).to.include({ level: 'info', msg: 'pod started', pod: 'p1', ms: 3 });
  });
});
