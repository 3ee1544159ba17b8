/**
 * The one place where berth errors become gRPC statuses (docs/contributing.md, "Errors"). The first typed error
 * along the cause chain decides the code; the details carry the whole wrapped message chain so
 * kubelet's events say what failed and why. An untyped error becomes UNKNOWN and is flagged as
 * such in the log (it means some layer forgot to type its error).
 */
import { GrpcCode as GrpcStatus } from './transport/grpc-code';
import { describeError, errorKindOf, type ErrorKind } from '../common/errors';

/** A gRPC status: code and details (sent as grpc-message). */
export interface GrpcErrorStatus {
  code: GrpcStatus;
  details: string;
}

const KIND_TO_CODE: Record<ErrorKind, GrpcStatus> = {
  NotFound: GrpcStatus.NOT_FOUND,
  AlreadyExists: GrpcStatus.ALREADY_EXISTS,
  InvalidArgument: GrpcStatus.INVALID_ARGUMENT,
  FailedPrecondition: GrpcStatus.FAILED_PRECONDITION,
  ResourceExhausted: GrpcStatus.RESOURCE_EXHAUSTED,
  DeadlineExceeded: GrpcStatus.DEADLINE_EXCEEDED,
  Unavailable: GrpcStatus.UNAVAILABLE,
  Unimplemented: GrpcStatus.UNIMPLEMENTED,
  Internal: GrpcStatus.INTERNAL,
};

/** True for the error an aborted AbortSignal produces (client cancelled or deadline passed). */
function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}

/** The gRPC code for `err`: its typed kind's code, CANCELLED for aborts, else UNKNOWN. */
function grpcCodeOf(err: unknown): GrpcStatus {
  const kind = errorKindOf(err);
  if (kind !== undefined) return KIND_TO_CODE[kind];
  if (isAbortError(err)) return GrpcStatus.CANCELLED;
  return GrpcStatus.UNKNOWN;
}

/** Maps any thrown value to the status sent to the client. */
export function toGrpcError(err: unknown): GrpcErrorStatus {
  const details = describeError(err) || 'unknown error';
  return { code: grpcCodeOf(err), details };
}

/** The gRPC code name ('OK', 'NOT_FOUND', …) for metrics and logs. */
export function grpcCodeName(code: number): string {
  return GrpcStatus[code] ?? String(code);
}
