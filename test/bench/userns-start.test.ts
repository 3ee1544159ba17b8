import { expect } from 'chai';
import { benchUsernsStart, formatUsernsStart, namespaceOptions } from './userns-start';

describe('test/bench userns-start', () => {
  it('alternates pods with and without a user namespace, each with its own 65536-id range, and cleans every pod up', async () => {
    const pods: Array<{ userns: unknown }> = [];
    const containers: unknown[] = [];
    const removed: string[] = [];
    const client = {
      runPodSandbox: async (req: { config: object }) => {
        const opts = (req.config as { linux: { securityContext: { namespaceOptions: { usernsOptions?: unknown } } } }).linux.securityContext.namespaceOptions;
        pods.push({ userns: opts.usernsOptions });
        return { podSandboxId: `p${pods.length}` };
      },
      createContainer: async (req: { config: object }) => {
        containers.push((req.config as { linux: { securityContext: { namespaceOptions: { usernsOptions?: unknown } } } }).linux.securityContext.namespaceOptions.usernsOptions);
        return { containerId: `c${containers.length}` };
      },
      startContainer: async () => undefined,
      stopPodSandbox: async () => undefined,
      removePodSandbox: async (req: { podSandboxId: string }) => void removed.push(req.podSandboxId),
    };
    const result = await benchUsernsStart(client, 'busybox', { pairs: 2, logDir: '/tmp/x' });
    expect(pods.map((p) => p.userns === undefined)).to.deep.equal([true, false, true, false]);
    expect(containers, 'each container asks for its pod mappings').to.deep.equal(pods.map((p) => p.userns));
    const bases = pods.filter((p) => p.userns).map((p) => (p.userns as { uids: Array<{ hostId: number }> }).uids[0].hostId);
    expect(new Set(bases).size).to.equal(2);
    for (const b of bases) expect(b % 65536).to.equal(0);
    expect(removed).to.deep.equal(['p1', 'p2', 'p3', 'p4']);
    expect(formatUsernsStart(result)).to.match(/hostUsers: false[\s\S]*RunPodSandbox[\s\S]*total/);
  });

  it('has no user namespace options for host users', () => {
    expect(namespaceOptions(undefined)).to.deep.equal({ pid: 1 });
  });
});
