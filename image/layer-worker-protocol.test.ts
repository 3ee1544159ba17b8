import { expect } from 'chai';
import { FailedPreconditionError, RuntimeError, UnavailableError, describeError, errorKindOf } from '../common/errors';
import { UnsafeLayerError } from './layer-unpack';
import { deserializeError, isFromWorkerMessage, isToWorkerMessage, serializeError } from './layer-worker-protocol';

const roundTrip = (err: unknown): Error => deserializeError(structuredClone(serializeError(err)));

describe('image/layer-worker-protocol', () => {
  it('rebuilds typed errors with their class, message and cause chain', () => {
    const errno = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', errno: -13 });
    const original = new RuntimeError('run zstd', { cause: new UnavailableError('connect', { cause: errno }) });
    const back = roundTrip(original);
    expect(back).to.be.instanceOf(RuntimeError);
    expect(back.message).to.equal('run zstd');
    expect(back.cause).to.be.instanceOf(UnavailableError);
    expect((back.cause as Error).cause).to.include({ message: 'EACCES: permission denied', code: 'EACCES', errno: -13 });
    expect(describeError(back)).to.equal(describeError(original));
  });

  it('keeps UnsafeLayerError (a FailedPrecondition) distinguishable', () => {
    const back = roundTrip(new UnsafeLayerError('unpack layer: absolute entry name "/x"'));
    expect(back).to.be.instanceOf(UnsafeLayerError);
    expect(back).to.be.instanceOf(FailedPreconditionError);
    expect(errorKindOf(back)).to.equal('FailedPrecondition');
  });

  it('turns non-errors and untyped errors into plain errors without a kind', () => {
    expect(roundTrip('boom').message).to.equal('boom');
    const plain = roundTrip(Object.assign(new TypeError('bad'), { code: 'ERR_X' }));
    expect(plain.name).to.equal('TypeError');
    expect(errorKindOf(plain)).to.equal(undefined);
  });

  it('recognises messages by their type tag only', () => {
    expect(isToWorkerMessage({ type: 'end' })).to.equal(true);
    expect(isToWorkerMessage({ type: 'done' })).to.equal(false);
    expect(isFromWorkerMessage({ type: 'consumed', bytes: 1 })).to.equal(true);
    expect(isFromWorkerMessage(null)).to.equal(false);
    expect(isFromWorkerMessage('done')).to.equal(false);
  });
});
