/** Status: RuntimeReady / NetworkReady conditions, runtime handlers and features, verbose info. */
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { RuntimeInfoDeps } from './info-handlers';

/** Condition types kubelet requires (cri-api RuntimeReady / NetworkReady). */
const RUNTIME_READY = 'RuntimeReady';
const NETWORK_READY = 'NetworkReady';

/** Handler for Status. */
export function status(deps: Pick<RuntimeInfoDeps, 'status' | 'features' | 'extraInfo'>) {
  return async (request: runtime.v1.IStatusRequest, _call: CallContext): Promise<runtime.v1.IStatusResponse> => {
    const network = deps.status.networkReady();
    const networkCondition: runtime.v1.IRuntimeCondition = { type: NETWORK_READY, status: network.ready };
    if (!network.ready) {
      networkCondition.reason = network.reason || 'NetworkPluginNotReady';
      networkCondition.message = network.message || 'the pod network is not ready';
    }
    const response: runtime.v1.IStatusResponse = {
      status: { conditions: [{ type: RUNTIME_READY, status: true }, networkCondition] },
      runtimeHandlers: deps.status.runtimeHandlers().map((h) => ({
        name: h.name,
        features: {
          recursiveReadOnlyMounts: h.features?.recursiveReadOnlyMounts ?? false,
          userNamespaces: h.features?.userNamespaces ?? false,
        },
      })),
      features: {
        supplementalGroupsPolicy: deps.features?.supplementalGroupsPolicy ?? false,
        userNamespacesHostNetwork: deps.features?.userNamespacesHostNetwork ?? false,
      },
    };
    if (request.verbose) response.info = asJsonValues({ ...deps.extraInfo?.(), ...deps.status.verboseInfo() });
    return response;
  };
}

/** The CRI wants JSON in info values; plain text is turned into a JSON string. */
function asJsonValues(info: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(info)) {
    try {
      JSON.parse(value);
      out[key] = value;
    } catch {
      out[key] = JSON.stringify(value);
    }
  }
  return out;
}
