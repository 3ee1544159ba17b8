/**
 * The Kubernetes `Status` objects written on the error stream of remotecommand sessions, byte-
 * compatible with what kubelet writes (k8s.io/apimachinery metav1.Status, marshalled by Go):
 * kubectl parses them to report "command terminated with exit code N".
 */

export interface K8sStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason?: string; message?: string }> };
  code?: number;
}

/** The session ended normally. */
export function successStatus(): K8sStatus {
  return { metadata: {}, status: 'Success' };
}

/** The command exited with a non-zero code (reason NonZeroExitCode, cause ExitCode). */
export function nonZeroExitStatus(exitCode: number): K8sStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** The session failed for another reason (kubelet's apierrors.NewInternalError shape). */
export function internalErrorStatus(message: string): K8sStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

/**
 * The bytes for the error stream: v4/v5 send the JSON Status always; older protocols send only
 * the message of a failure, as plain text, and nothing on success.
 */
export function encodeStatus(status: K8sStatus, json: boolean): Buffer | undefined {
  if (json) return Buffer.from(JSON.stringify(status));
  if (status.status === 'Success') return undefined;
  return Buffer.from(status.message ?? 'unknown error');
}
