import { expect } from 'chai';
import { AlreadyExistsError } from '../common/errors';
import { configFingerprint } from './config-fingerprint';
import { KeyedReservations } from './keyed-reservations';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('common/keyed-reservations', () => {
  it('a retry with the same config waits for the in-flight creation and gets its id', async () => {
    const names = new KeyedReservations('pod sandbox');
    const gate = deferred();
    let creations = 0;
    const first = names.reserveOrJoin('k8s_a', 'id-1', async () => {
      creations++;
      await gate.promise;
    }, 'fp');
    const retry = names.reserveOrJoin('k8s_a', 'id-2', async () => void creations++, 'fp');
    let retrySettled = false;
    void retry.then(() => (retrySettled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(retrySettled).to.equal(false); // it waits, no "name is reserved" error
    gate.resolve();
    expect(await first).to.deep.equal({ id: 'id-1', created: true });
    expect(await retry).to.deep.equal({ id: 'id-1', created: false });
    expect(creations).to.equal(1);
    expect(await names.reserveOrJoin('k8s_a', 'id-3', async () => void creations++, 'fp')).to.deep.equal({ id: 'id-1', created: false });
  });

  it('a different config under a held name is AlreadyExists naming the holder; in flight or done', async () => {
    const names = new KeyedReservations('pod sandbox');
    const gate = deferred();
    const first = names.reserveOrJoin('k8s_b', 'id-1', () => gate.promise, 'fp-1');
    const err = await names.reserveOrJoin('k8s_b', 'id-2', async () => {}, 'fp-2').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(AlreadyExistsError);
    expect(String((err as Error).message)).to.contain('id-1');
    gate.resolve();
    await first;
    const later = await names.reserveOrJoin('k8s_b', 'id-3', async () => {}, 'fp-2').then(() => undefined, (e: unknown) => e);
    expect(later).to.be.instanceOf(AlreadyExistsError);
  });

  it('a failed creation rejects its waiters and frees the name, so the next retry builds it', async () => {
    const names = new KeyedReservations('pod sandbox');
    const gate = deferred();
    const first = names.reserveOrJoin('k8s_c', 'id-1', () => gate.promise, 'fp');
    const retry = names.reserveOrJoin('k8s_c', 'id-2', async () => {}, 'fp');
    gate.reject(new Error('cni failed'));
    for (const p of [first, retry]) {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(String(err)).to.contain('cni failed');
    }
    expect(names.lookup('k8s_c')).to.equal(undefined);
    expect(await names.reserveOrJoin('k8s_c', 'id-3', async () => {}, 'fp')).to.deep.equal({ id: 'id-3', created: true });
  });

  it('a claimed name (recovered after restart) is joined by the same request and refused to a different one', async () => {
    const names = new KeyedReservations('container');
    names.claim('k8s_d', 'id-1', 'fp');
    let creations = 0;
    expect(await names.reserveOrJoin('k8s_d', 'id-2', async () => void creations++, 'fp')).to.deep.equal({ id: 'id-1', created: false });
    const err = await names.reserveOrJoin('k8s_d', 'id-3', async () => void creations++, 'other').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(AlreadyExistsError);
    expect((err as Error).message).to.equal('container name k8s_d is reserved for container id-1, created with a different config');
    expect(creations).to.equal(0);
    names.release('k8s_d', 'id-other'); // not the holder: no effect
    expect(names.lookup('k8s_d')).to.equal('id-1');
    names.release('k8s_d', 'id-1');
    expect(await names.reserveOrJoin('k8s_d', 'id-4', async () => void creations++, 'other')).to.deep.equal({ id: 'id-4', created: true });
    expect(creations).to.equal(1);
  });

  it('the name is taken before create runs, so a synchronous second request joins instead of building', async () => {
    const names = new KeyedReservations('pod sandbox');
    const order: string[] = [];
    const first = names.reserveOrJoin('k8s_e', 'id-1', async () => void order.push('create 1'), 'fp');
    expect(names.lookup('k8s_e')).to.equal('id-1');
    const second = names.reserveOrJoin('k8s_e', 'id-2', async () => void order.push('create 2'), 'fp');
    expect((await Promise.all([first, second])).map((r) => r.id)).to.deep.equal(['id-1', 'id-1']);
    expect(order).to.deep.equal(['create 1']);
  });

  it('fingerprints ignore key order and proto3 defaults but not real differences', () => {
    const a = configFingerprint({ metadata: { name: 'x', attempt: 0, uid: 'u' }, labels: {}, hostname: '' });
    const b = configFingerprint({ hostname: undefined, metadata: { uid: 'u', name: 'x' } });
    expect(a).to.equal(b);
    expect(configFingerprint({ metadata: { name: 'x', uid: 'u' }, labels: { l: '1' } })).to.not.equal(a);
    expect(configFingerprint({ list: [0, 1] })).to.not.equal(configFingerprint({ list: [1] }));
  });
});
