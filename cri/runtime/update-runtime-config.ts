/**
 * UpdateRuntimeConfig: kubelet passes the node's pod CIDR(s) here once it knows them. berth's pod
 * addresses come from the CNI configuration (or the embedded network's subnet), so, as in
 * cri-o, the call changes nothing; a malformed CIDR is still refused and a valid one is logged
 * so an admin can compare it with the network config.
 */
import * as net from 'node:net';
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';

/** Handler for UpdateRuntimeConfig. */
export function updateRuntimeConfig() {
  return async (request: runtime.v1.IUpdateRuntimeConfigRequest, call: CallContext): Promise<runtime.v1.IUpdateRuntimeConfigResponse> => {
    const podCidr = request.runtimeConfig?.networkConfig?.podCidr ?? '';
    if (podCidr === '') return {};
    for (const cidr of podCidr.split(',')) {
      if (!isCidr(cidr.trim())) {
        throw new InvalidArgumentError(`runtime_config.network_config.pod_cidr: ${JSON.stringify(cidr)} is not a CIDR`);
      }
    }
    call.logger.info('kubelet reported the pod CIDR; pod addresses come from the CNI configuration', { podCidr });
    return {};
  };
}

function isCidr(text: string): boolean {
  const slash = text.lastIndexOf('/');
  if (slash <= 0) return false;
  const address = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return false;
  const family = net.isIP(address);
  return family !== 0 && Number(bitsText) <= (family === 4 ? 32 : 128);
}
