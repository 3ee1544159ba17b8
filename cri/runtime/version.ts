/** Version: who we are and which CRI API we speak; one answer, encoded once. */
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { owned, withEncoding } from '../pre-encoded';
import type { RuntimeInfoDeps } from './info-handlers';

/** Name reported as runtime_name. */
const RUNTIME_NAME = 'berth';
/** The CRI API version berth implements. */
const RUNTIME_API_VERSION = 'v1';
/** The `version` field (the kubelet-facing API version string; cri-o and containerd send 0.1.0). */
const KUBELET_API_VERSION = '0.1.0';

/** Handler for Version. */
export function version(deps: Pick<RuntimeInfoDeps, 'runtimeVersion'>) {
  const answer: runtime.v1.IVersionResponse = Object.freeze({
    version: KUBELET_API_VERSION,
    runtimeName: RUNTIME_NAME,
    runtimeVersion: deps.runtimeVersion,
    runtimeApiVersion: RUNTIME_API_VERSION,
  });
  withEncoding(answer, owned(runtime.v1.VersionResponse.encode(answer).finish()));
  return (_request: runtime.v1.IVersionRequest, _call: CallContext): runtime.v1.IVersionResponse => answer;
}
