/** RuntimeConfig: tells kubelet which cgroup driver to use (read once at kubelet start). */
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { RuntimeInfoDeps } from './info-handlers';

/** Handler for RuntimeConfig. */
export function runtimeConfig(deps: Pick<RuntimeInfoDeps, 'cgroupDriver'>) {
  const cgroupDriver = deps.cgroupDriver === 'systemd' ? runtime.v1.CgroupDriver.SYSTEMD : runtime.v1.CgroupDriver.CGROUPFS;
  return (_request: runtime.v1.IRuntimeConfigRequest, _call: CallContext): runtime.v1.IRuntimeConfigResponse => ({
    linux: { cgroupDriver },
  });
}
