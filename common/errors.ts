/**
 * Typed domain errors. Domain code (pod/, runtime/, image/, cni/, native/) throws these; only
 * cri/ turns them into gRPC status codes (cri/errors.ts). Wrap with a verb-first message and
 * `{ cause }`: the first typed error found along the cause chain decides the status code.
 */

/** What kind of failure an error is; cri/ maps each kind to one gRPC code. */
export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'ResourceExhausted'
  | 'DeadlineExceeded'
  | 'Unavailable'
  | 'Unimplemented'
  | 'Internal';

/** Base class of every berth error; `kind` is undefined for plain wrappers. */
export class BerthError extends Error {
  readonly kind: ErrorKind | undefined = undefined;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A BerthError subclass whose `kind` is `kind` (the base of each typed error below). */
function errorOfKindClass<K extends ErrorKind>(kind: K) {
  return class extends BerthError {
    override readonly kind: K = kind;
  };
}

/** The object does not exist (gRPC NOT_FOUND). */
export class NotFoundError extends errorOfKindClass('NotFound') {}
/** The object exists already (gRPC ALREADY_EXISTS). */
export class AlreadyExistsError extends errorOfKindClass('AlreadyExists') {}
/** The request is malformed; the message names the field (gRPC INVALID_ARGUMENT). */
export class InvalidArgumentError extends errorOfKindClass('InvalidArgument') {}
/** The object is in the wrong state for the request (gRPC FAILED_PRECONDITION). */
export class FailedPreconditionError extends errorOfKindClass('FailedPrecondition') {}
/** A limit was hit (gRPC RESOURCE_EXHAUSTED). */
export class ResourceExhaustedError extends errorOfKindClass('ResourceExhausted') {}
/** An operation ran out of time (gRPC DEADLINE_EXCEEDED). */
export class DeadlineExceededError extends errorOfKindClass('DeadlineExceeded') {}
/** A dependency (registry, plugin) cannot be reached right now (gRPC UNAVAILABLE). */
export class UnavailableError extends errorOfKindClass('Unavailable') {}
/** The feature is not built (gRPC UNIMPLEMENTED). */
export class UnimplementedError extends errorOfKindClass('Unimplemented') {}
/** A failure of berth or a tool it runs (runc, conmon, CNI plugin) (gRPC INTERNAL). */
export class RuntimeError extends errorOfKindClass('Internal') {}

/** The error class of each kind. */
const CLASS_OF_KIND: Readonly<Record<ErrorKind, new (message: string, options?: { cause?: unknown }) => BerthError>> = {
  NotFound: NotFoundError,
  AlreadyExists: AlreadyExistsError,
  InvalidArgument: InvalidArgumentError,
  FailedPrecondition: FailedPreconditionError,
  ResourceExhausted: ResourceExhaustedError,
  DeadlineExceeded: DeadlineExceededError,
  Unavailable: UnavailableError,
  Unimplemented: UnimplementedError,
  Internal: RuntimeError,
};

/** A new typed error of `kind` (for rebuilding or re-wrapping an error of a known kind). */
export function errorOfKind(kind: ErrorKind, message: string, options?: { cause?: unknown }): BerthError {
  return new CLASS_OF_KIND[kind](message, options);
}

/** The kind of the first typed error along `err`'s cause chain, or undefined. */
export function errorKindOf(err: unknown): ErrorKind | undefined {
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur instanceof Error && !seen.has(cur)) {
    seen.add(cur);
    if (cur instanceof BerthError && cur.kind !== undefined) return cur.kind;
    if (cur instanceof AggregateError && cur.errors.length > 0) cur = cur.errors[0];
    else cur = cur.cause;
  }
  return undefined;
}

/** The message of `err` followed by the messages of its causes, joined with ": ". */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur !== undefined && cur !== null && !seen.has(cur)) {
    seen.add(cur);
    if (cur instanceof Error) {
      if (cur.message && !parts.includes(cur.message)) parts.push(cur.message);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ');
}

/** The errno code (`ENOENT`, …) of a Node or native error, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
