import { status as GrpcStatus } from '@grpc/grpc-js';
import { expect } from 'chai';
import { AlreadyExistsError, DeadlineExceededError, NotFoundError, RuntimeError, UnimplementedError } from '../common/errors';
import { grpcCodeName, toGrpcError } from './errors';
import { typedErrorCases } from './testing/grpc-error-fixtures';

describe('cri/errors toGrpcError', () => {
  const table: Array<[unknown, GrpcStatus]> = [
    ...typedErrorCases(),
    [new DeadlineExceededError('x'), GrpcStatus.DEADLINE_EXCEEDED],
    [new UnimplementedError('x'), GrpcStatus.UNIMPLEMENTED],
    [new RuntimeError('x'), GrpcStatus.INTERNAL],
    ['a string', GrpcStatus.UNKNOWN],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), GrpcStatus.CANCELLED],
  ];
  for (const [err, code] of table) {
    it(`maps ${err instanceof Error ? `${err.constructor.name}/${err.name} "${err.message}"` : typeof err} to ${GrpcStatus[code]}`, () => {
      expect(toGrpcError(err).code).to.equal(code);
    });
  }

  it('uses the first typed error along the cause chain and keeps all messages', () => {
    const err = new Error('create container c1', { cause: new NotFoundError('image busybox not found') });
    expect(toGrpcError(err)).to.deep.equal({ code: GrpcStatus.NOT_FOUND, details: 'create container c1: image busybox not found' });
  });

  it('looks into AggregateError (cleanup failures joined to the original)', () => {
    const err = new AggregateError([new AlreadyExistsError('name reserved'), new Error('cleanup failed')], 'run pod');
    expect(toGrpcError(err).code).to.equal(GrpcStatus.ALREADY_EXISTS);
  });

  it('names codes', () => {
    expect(grpcCodeName(GrpcStatus.OK)).to.equal('OK');
    expect(grpcCodeName(GrpcStatus.NOT_FOUND)).to.equal('NOT_FOUND');
  });
});
