/**
 * Status: RuntimeReady / NetworkReady conditions, runtime handlers and features, verbose info.
 * kubelet asks every few seconds and the answer changes rarely (the network becoming ready, a
 * handler's features): the plain answer is kept, encoded, for each state the sources report.
 */
import { deepFreeze } from '../../common/deep-freeze';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { owned, withEncoding } from '../pre-encoded';
import type { RuntimeInfoDeps } from './info-handlers';

/** Condition types kubelet requires (cri-api RuntimeReady / NetworkReady). */
const RUNTIME_READY = 'RuntimeReady';
const NETWORK_READY = 'NetworkReady';

/** Handler for Status. */
export function status(deps: Pick<RuntimeInfoDeps, 'status' | 'features' | 'extraInfo'>) {
  const build = buildStatus(deps);
  // Keyed by everything the plain answer is made of; a handful of states at most over a daemon's life.
  const answers = new Map<string, runtime.v1.IStatusResponse>();
  // The answer of the last call and what it was made of: most calls find the same state (and the
  // same shared handler list), which is checked without building the key.
  let last: { network: NetworkState; handlers: HandlerList; answer: runtime.v1.IStatusResponse } | undefined;
  return (request: runtime.v1.IStatusRequest, _call: CallContext): runtime.v1.IStatusResponse => {
    if (request.verbose) return build(true);
    const network = deps.status.networkReady();
    const handlers = deps.status.runtimeHandlers();
    if (last && last.handlers === handlers && sameNetworkState(last.network, network)) return last.answer;
    let key = `${network.ready}\0${network.reason ?? ''}\0${network.message ?? ''}`;
    for (const h of handlers) key += `\0${h.name}\0${h.features?.recursiveReadOnlyMounts === true}${h.features?.userNamespaces === true}`;
    let answer = answers.get(key);
    if (!answer) {
      answer = deepFreeze(build(false, network, handlers));
      withEncoding(answer, owned(runtime.v1.StatusResponse.encode(answer).finish()));
      if (answers.size >= MAX_KEPT_ANSWERS) answers.clear();
      answers.set(key, answer);
    }
    last = { network, handlers, answer };
    return answer;
  };
}

function sameNetworkState(a: NetworkState, b: NetworkState): boolean {
  return a.ready === b.ready && a.reason === b.reason && a.message === b.message;
}

/** Status states whose answers are kept; past that the memory starts over. */
const MAX_KEPT_ANSWERS = 16;

type StatusDeps = Pick<RuntimeInfoDeps, 'status' | 'features' | 'extraInfo'>;
type NetworkState = ReturnType<StatusDeps['status']['networkReady']>;
type HandlerList = ReturnType<StatusDeps['status']['runtimeHandlers']>;

/** Builds the answer from the sources (read now unless given). */
function buildStatus(deps: StatusDeps) {
  return (verbose: boolean, network: NetworkState = deps.status.networkReady(), handlers: HandlerList = deps.status.runtimeHandlers()): runtime.v1.IStatusResponse => {
    const networkCondition: runtime.v1.IRuntimeCondition = { type: NETWORK_READY, status: network.ready };
    if (!network.ready) {
      networkCondition.reason = network.reason || 'NetworkPluginNotReady';
      networkCondition.message = network.message || 'the pod network is not ready';
    }
    const response: runtime.v1.IStatusResponse = {
      status: { conditions: [{ type: RUNTIME_READY, status: true }, networkCondition] },
      runtimeHandlers: handlers.map((h) => ({
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
    if (verbose) response.info = asJsonValues({ ...deps.extraInfo?.(), ...deps.status.verboseInfo() });
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
