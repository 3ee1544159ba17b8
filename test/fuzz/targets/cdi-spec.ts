/**
 * CDI spec files (JSON and YAML) through the loader's parse + validate: any bytes must end in a
 * valid spec or an InvalidArgumentError, quickly, with every accepted path absolute.
 */
import { InvalidArgumentError } from '../../../common/errors';
import { parseSpecFile } from '../../../runtime/cdi/registry';
import type { FuzzTarget } from '../target';

const enc = new TextEncoder();

const SEEDS = [
  JSON.stringify({ cdiVersion: '0.5.0', kind: 'vendor.com/gpu', containerEdits: { env: ['A=1'] }, devices: [{ name: 'g0', containerEdits: { deviceNodes: [{ path: '/dev/g0', hostPath: '/dev/null', permissions: 'rw' }], mounts: [{ hostPath: '/usr/lib', containerPath: '/lib/x', options: ['ro', 'bind'] }], hooks: [{ hookName: 'createContainer', path: '/bin/true', timeout: 2 }] } }] }),
  'cdiVersion: "0.7.0"\nkind: example.com/net\ndevices:\n  - name: "0"\n    containerEdits:\n      additionalGids: [44]\n      env: [NET=0]\n',
  'cdiVersion: "0.3.0"\nkind: v.com/c\nx: &e\n  env: [A=1]\ndevices:\n  - name: a\n    containerEdits: *e\n  - name: b\n    containerEdits: *e\n',
];

export const target: FuzzTarget = {
  name: 'cdi-spec',
  seeds: () => SEEDS.map((s) => enc.encode(s)),
  async run(input) {
    const text = Buffer.from(input).toString('utf8');
    for (const file of ['/fuzz/spec.json', '/fuzz/spec.yaml']) {
      let spec;
      try {
        spec = parseSpecFile(file, text);
      } catch (err) {
        if (err instanceof InvalidArgumentError) continue;
        throw err;
      }
      for (const d of spec.devices) {
        for (const n of d.containerEdits.deviceNodes ?? []) if (!n.path.startsWith('/')) throw new Error(`accepted a relative device path ${n.path}`);
        for (const m of d.containerEdits.mounts ?? []) if (!m.containerPath.startsWith('/')) throw new Error(`accepted a relative mount path ${m.containerPath}`);
      }
    }
  },
};
