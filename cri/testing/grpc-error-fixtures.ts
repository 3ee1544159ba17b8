/** Typed errors as the domain folders throw them, with the gRPC code berth must answer for each. */
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  RuntimeError,
  UnavailableError,
} from '../../common/errors';

/** Fresh error/code rows: one per typed error, wrapped causes, and an untyped error. */
export function typedErrorCases(): Array<[Error, GrpcStatus]> {
  return [
    [new NotFoundError('pod sandbox "abc" not found'), GrpcStatus.NOT_FOUND],
    [new AlreadyExistsError('name k8s_x is reserved'), GrpcStatus.ALREADY_EXISTS],
    [new InvalidArgumentError('config.metadata: is required'), GrpcStatus.INVALID_ARGUMENT],
    [new FailedPreconditionError('container is running'), GrpcStatus.FAILED_PRECONDITION],
    [new ResourceExhaustedError('too many pods'), GrpcStatus.RESOURCE_EXHAUSTED],
    [new UnavailableError('registry unreachable'), GrpcStatus.UNAVAILABLE],
    [new RuntimeError('start container c1', { cause: new NotFoundError('no such image') }), GrpcStatus.INTERNAL],
    [new RuntimeError('remove pod p1', { cause: new Error('EBUSY') }), GrpcStatus.INTERNAL],
    [new Error('something untyped'), GrpcStatus.UNKNOWN],
  ];
}
