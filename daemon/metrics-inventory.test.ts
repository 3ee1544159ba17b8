import { expect } from 'chai';
import { Registry } from 'prom-client';
import { countByHostUsers, countByState, registerInventoryMetrics } from './metrics-inventory';

describe('daemon/metrics-inventory', () => {
  it('exports container and pod counts by state at scrape time, zeros for known states', async () => {
    const registry = new Registry();
    let containers = [{ state: 'running' }, { state: 'running' }, { state: 'exited' }];
    registerInventoryMetrics(registry, {
      containers: { countsByState: () => countByState(containers) },
      pods: { countsByState: () => ({ ready: 1 }) },
    });
    let text = await registry.metrics();
    expect(text).to.contain('container_runtime_berth_containers{state="running"} 2');
    expect(text).to.contain('container_runtime_berth_containers{state="exited"} 1');
    expect(text).to.contain('container_runtime_berth_containers{state="created"} 0');
    expect(text).to.contain('container_runtime_berth_pods{state="ready"} 1');
    expect(text).to.contain('container_runtime_berth_pods{state="notready"} 0');
    containers = [{ state: 'created' }];
    text = await registry.metrics();
    expect(text).to.contain('container_runtime_berth_containers{state="created"} 1');
    expect(text).to.contain('container_runtime_berth_containers{state="running"} 0');
  });

  it('exports pods by host_users: a pod with user namespace mappings counts as host_users="false"', async () => {
    const registry = new Registry();
    const pods: Array<{ userNamespace?: object }> = [{}, { userNamespace: { uids: [], gids: [] } }, {}];
    registerInventoryMetrics(registry, { podUserNamespaces: { countsByHostUsers: () => countByHostUsers(pods) } });
    let text = await registry.metrics();
    expect(text).to.contain('container_runtime_berth_pods_by_host_users{host_users="true"} 2');
    expect(text).to.contain('container_runtime_berth_pods_by_host_users{host_users="false"} 1');
    pods.splice(0, 3);
    text = await registry.metrics();
    expect(text).to.contain('container_runtime_berth_pods_by_host_users{host_users="true"} 0');
    expect(text).to.contain('container_runtime_berth_pods_by_host_users{host_users="false"} 0');
  });

  it('exports the open streaming sessions by kind', async () => {
    const registry = new Registry();
    registerInventoryMetrics(registry, { streamingSessions: { activeSessions: () => ({ exec: 2, attach: 0, portforward: 1 }) } });
    const text = await registry.metrics();
    expect(text).to.contain('container_runtime_berth_streaming_sessions{kind="exec"} 2');
    expect(text).to.contain('container_runtime_berth_streaming_sessions{kind="attach"} 0');
    expect(text).to.contain('container_runtime_berth_streaming_sessions{kind="portforward"} 1');
  });

  it('exports the image volumes mounted now', async () => {
    const registry = new Registry();
    let n = 3;
    registerInventoryMetrics(registry, { imageVolumes: { count: () => n } });
    expect(await registry.metrics()).to.contain('container_runtime_berth_image_volumes 3');
    n = 0;
    expect(await registry.metrics()).to.contain('container_runtime_berth_image_volumes 0');
  });

  it('exports no series for a source that is not wired', async () => {
    const registry = new Registry();
    registerInventoryMetrics(registry, {});
    const text = await registry.metrics();
    expect(text).to.contain('# TYPE container_runtime_berth_containers gauge');
    expect(text).not.to.match(/^container_runtime_berth_containers\{/m);
  });
});
