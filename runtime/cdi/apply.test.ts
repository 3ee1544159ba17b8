import { expect } from 'chai';
import { buildContainerSpec } from '../spec/build-spec';
import { specInput } from '../testing/spec-fixtures';
import { applyCdiEdits } from './apply';
import type { CdiEdits } from './types';

const none = (): CdiEdits => ({ devices: [], env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] });

describe('runtime/cdi apply', () => {
  const base = () => buildContainerSpec(specInput());

  it('no edits change nothing, and the input spec is never mutated', () => {
    const spec = base();
    const before = JSON.stringify(spec);
    expect(applyCdiEdits(spec, none())).to.deep.equal(spec);
    applyCdiEdits(spec, { ...none(), env: ['X=1'], additionalGids: [7] });
    expect(JSON.stringify(spec)).to.equal(before);
  });

  const cases: Array<{ name: string; edits: Partial<CdiEdits>; check: (s: ReturnType<typeof base>, orig: ReturnType<typeof base>) => void }> = [
    {
      name: 'env appends new names and replaces existing ones in place',
      edits: { env: ['PATH=/vendor/bin', 'VENDOR=1'] },
      check: (s, o) => {
        const at = o.process.env.findIndex((e) => e.startsWith('PATH='));
        expect(s.process.env[at]).to.equal('PATH=/vendor/bin');
        expect(s.process.env.at(-1)).to.equal('VENDOR=1');
        expect(s.process.env).to.have.length(o.process.env.length + 1);
      },
    },
    {
      name: 'device nodes are added with a cgroup allow rule after the deny-all; a fifo gets no rule',
      edits: {
        deviceNodes: [
          { path: '/dev/gpu0', type: 'c', major: 195, minor: 0, fileMode: 0o666, permissions: 'rw' },
          { path: '/dev/fifo', type: 'p', major: 0, minor: 0, permissions: 'rwm' },
        ],
      },
      check: (s) => {
        expect(s.linux.devices).to.deep.include({ type: 'c', path: '/dev/gpu0', major: 195, minor: 0, fileMode: 0o666 });
        expect(s.linux.devices!.map((d) => d.path)).to.include('/dev/fifo');
        const rules = s.linux.resources!.devices!;
        expect(rules[0]).to.deep.equal({ allow: false, access: 'rwm' });
        expect(rules.slice(1)).to.deep.equal([{ allow: true, type: 'c', major: 195, minor: 0, access: 'rw' }]);
      },
    },
    {
      name: 'a node on an existing device path replaces it',
      edits: { deviceNodes: [{ path: '/dev/x', type: 'c', major: 1, minor: 3, permissions: 'rwm' }, { path: '/dev/x', type: 'c', major: 1, minor: 5, permissions: 'rwm' }] },
      check: (s) => expect(s.linux.devices!.filter((d) => d.path === '/dev/x').map((d) => d.minor)).to.deep.equal([5]),
    },
    {
      name: 'mounts replace same destinations and all mounts are ordered parents first',
      edits: { mounts: [{ hostPath: '/usr/lib/vendor', containerPath: '/usr/lib/x', options: ['ro', 'nosuid', 'bind'] }, { hostPath: '/h', containerPath: '/dev/shm', type: 'tmpfs', options: [] }] },
      check: (s) => {
        const m = s.mounts.find((x) => x.destination === '/usr/lib/x');
        expect(m).to.deep.equal({ destination: '/usr/lib/x', type: 'bind', source: '/usr/lib/vendor', options: ['ro', 'nosuid', 'bind'] });
        expect(s.mounts.filter((x) => x.destination === '/dev/shm')).to.deep.equal([{ destination: '/dev/shm', type: 'tmpfs', source: '/h', options: [] }]);
        const depths = s.mounts.map((x) => x.destination.split('/').filter(Boolean).length);
        expect(depths).to.deep.equal([...depths].sort((a, b) => a - b));
        expect(s.mounts.findIndex((x) => x.destination === '/dev')).to.be.lessThan(s.mounts.findIndex((x) => x.destination === '/dev/shm'));
      },
    },
    {
      name: 'hooks go to their lifecycle list',
      edits: { hooks: [{ hookName: 'createContainer', path: '/bin/a', args: ['a'], timeout: 3 }, { hookName: 'createContainer', path: '/bin/b' }, { hookName: 'poststop', path: '/bin/c', env: ['X=1'] }] },
      check: (s) => expect(s.hooks).to.deep.equal({ createContainer: [{ path: '/bin/a', args: ['a'], timeout: 3 }, { path: '/bin/b' }], poststop: [{ path: '/bin/c', env: ['X=1'] }] }),
    },
    {
      name: 'additional GIDs are added once, 0 ignored',
      edits: { additionalGids: [44, 0, 44, 45] },
      check: (s, o) => expect(s.process.user.additionalGids).to.deep.equal([...(o.process.user.additionalGids ?? []).filter((g) => g !== 44 && g !== 45), 44, 45]),
    },
    {
      name: 'intelRdt is set on linux',
      edits: { intelRdt: { closID: 'gold', enableMBM: true } },
      check: (s) => expect(s.linux.intelRdt).to.deep.equal({ closID: 'gold', enableMBM: true }),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const orig = base();
      c.check(applyCdiEdits(orig, { ...none(), ...c.edits }), orig);
    });
  }

  it('a node without an owner belongs to a non-root container user, as the CDI library does', () => {
    const input = specInput();
    input.user = { uid: 1000, gid: 1001, additionalGids: [] };
    const s = applyCdiEdits(buildContainerSpec(input), { ...none(), deviceNodes: [{ path: '/dev/g', type: 'c', major: 1, minor: 3, permissions: 'rwm' }, { path: '/dev/h', type: 'c', major: 1, minor: 5, permissions: 'rwm', uid: 0, gid: 0 }] });
    expect(s.linux.devices!.find((d) => d.path === '/dev/g')).to.include({ uid: 1000, gid: 1001 });
    expect(s.linux.devices!.find((d) => d.path === '/dev/h')).to.include({ uid: 0, gid: 0 });
  });

  it('the builder applies edits given in its input', () => {
    const input = specInput();
    input.cdiEdits = { ...none(), env: ['FROM_CDI=1'] };
    expect(buildContainerSpec(input).process.env).to.include('FROM_CDI=1');
  });
});
