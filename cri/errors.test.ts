import { status as GrpcStatus } from '@grpc/grpc-js';
import { expect } from 'chai';
import {
  AlreadyExistsError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  RuntimeError,
  UnavailableError,
  UnimplementedError,
} from '../common/errors';
import { grpcCodeName, toGrpcError } from './errors';

describe('cri/errors toGrpcError', () => {
  const table: Array<[unknown, GrpcStatus]> = [
    [new NotFoundError('x'), GrpcStatus.NOT_FOUND],
    [new AlreadyExistsError('x'), GrpcStatus.ALREADY_EXISTS],
    [new InvalidArgumentError('x'), GrpcStatus.INVALID_ARGUMENT],
    [new FailedPreconditionError('x'), GrpcStatus.FAILED_PRECONDITION],
    [new ResourceExhaustedError('x'), GrpcStatus.RESOURCE_EXHAUSTED],
    [new DeadlineExceededError('x'), GrpcStatus.DEADLINE_EXCEEDED],
    [new UnavailableError('x'), GrpcStatus.UNAVAILABLE],
    [new UnimplementedError('x'), GrpcStatus.UNIMPLEMENTED],
    [new RuntimeError('x'), GrpcStatus.INTERNAL],
    [new Error('plain'), GrpcStatus.UNKNOWN],
    ['a string', GrpcStatus.UNKNOWN],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), GrpcStatus.CANCELLED],
  ];
  for (const [err, code] of table) {
    it(`maps ${err instanceof Error ? err.constructor.name + '/' + err.name : typeof err} to ${GrpcStatus[code]}`, () => {
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
