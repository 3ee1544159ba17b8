import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { minimumVersion, validateCdiSpec } from './validate';

/** A minimal valid spec, patched per case. */
const base = (patch: Record<string, unknown> = {}) => ({ cdiVersion: '0.3.0', kind: 'vendor.com/gpu', devices: [{ name: 'gpu0', containerEdits: { env: ['A=1'] } }], ...patch });
const edits = (e: Record<string, unknown>, version = '0.3.0') => base({ cdiVersion: version, devices: [{ name: 'd', containerEdits: e }] });

describe('runtime/cdi validate', () => {
  const valid: Array<{ name: string; doc: unknown }> = [
    { name: 'the minimal 0.3.0 spec', doc: base() },
    ...['0.4.0', '0.5.0', '0.6.0', '0.7.0', '0.8.0'].map((v) => ({ name: `version ${v}`, doc: base({ cdiVersion: v }) })),
    { name: 'mount type with 0.4.0', doc: edits({ mounts: [{ hostPath: '/h', containerPath: '/c', type: 'bind', options: ['ro', 'bind'] }] }, '0.4.0') },
    { name: 'deviceNodes hostPath with 0.5.0', doc: edits({ deviceNodes: [{ path: '/dev/x', hostPath: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, permissions: 'rw', uid: 0, gid: 0 }] }, '0.5.0') },
    { name: 'a device name starting with a digit with 0.5.0', doc: base({ cdiVersion: '0.5.0', devices: [{ name: '0', containerEdits: { env: ['A=1'] } }] }) },
    { name: 'annotations with 0.6.0', doc: base({ cdiVersion: '0.6.0', annotations: { a: 'b' } }) },
    { name: "a '.' in the class with 0.6.0", doc: base({ cdiVersion: '0.6.0', kind: 'vendor.com/gpu.v2' }) },
    { name: 'additionalGids with 0.7.0', doc: edits({ additionalGids: [44, 0] }, '0.7.0') },
    { name: 'hooks of every name', doc: edits({ hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].map((hookName) => ({ hookName, path: '/bin/true', args: ['true'], env: ['X=1'], timeout: 5 })) }) },
    { name: 'spec-level edits with an empty device edit list of its own kinds', doc: base({ containerEdits: { env: ['S=1'] } }) },
    { name: 'nulls where lists are optional (YAML "env:" with nothing)', doc: edits({ env: ['A=1'], mounts: null, hooks: null }) },
  ];
  for (const c of valid) it(`accepts ${c.name}`, () => expect(() => validateCdiSpec(c.doc)).not.to.throw());

  const invalid: Array<{ name: string; doc: unknown; message: string }> = [
    { name: 'a non-object', doc: [1], message: 'spec: must be an object' },
    { name: 'version 0.2.0', doc: base({ cdiVersion: '0.2.0' }), message: 'cdiVersion "0.2.0" is not supported' },
    { name: 'version 1.0.0', doc: base({ cdiVersion: '1.0.0' }), message: 'is not supported' },
    { name: 'a kind without a class', doc: base({ kind: 'vendor.com' }), message: 'is not "vendor/class"' },
    { name: 'a kind with two slashes', doc: base({ kind: 'vendor.com/a/b' }), message: 'class "a/b"' },
    { name: 'no devices', doc: base({ devices: [] }), message: 'at least one device' },
    { name: 'a bad device name', doc: base({ devices: [{ name: 'gpu 0', containerEdits: { env: ['A=1'] } }] }), message: 'devices[0].name' },
    { name: 'a device defined twice', doc: base({ devices: [{ name: 'a', containerEdits: { env: ['A=1'] } }, { name: 'a', containerEdits: { env: ['A=1'] } }] }), message: 'devices[1].name: device "a" is defined twice' },
    { name: 'a device without edits', doc: base({ devices: [{ name: 'a', containerEdits: {} }] }), message: 'devices[0].containerEdits: a device needs at least one edit' },
    { name: 'an env entry without =', doc: edits({ env: ['NOPE'] }), message: 'devices[0].containerEdits.env[0]: "NOPE" is not NAME=value' },
    { name: 'a relative device path', doc: edits({ deviceNodes: [{ path: 'dev/x' }] }), message: 'deviceNodes[0].path: "dev/x" is not an absolute path' },
    { name: 'a bad device type', doc: edits({ deviceNodes: [{ path: '/dev/x', type: 'x' }] }), message: 'deviceNodes[0].type' },
    { name: 'bad permissions', doc: edits({ deviceNodes: [{ path: '/dev/x', permissions: 'rwx' }] }), message: 'is not a subset of "rwm"' },
    { name: 'a negative major', doc: edits({ deviceNodes: [{ path: '/dev/x', major: -1 }] }), message: 'deviceNodes[0].major' },
    { name: 'a mount without hostPath', doc: edits({ mounts: [{ containerPath: '/c' }] }), message: 'mounts[0].hostPath: must be a string' },
    { name: 'a mount with .. in containerPath', doc: edits({ mounts: [{ hostPath: '/h', containerPath: '/c/../../etc' }] }), message: 'has ".." components' },
    { name: 'an unknown hook name', doc: edits({ hooks: [{ hookName: 'prerun', path: '/bin/true' }] }), message: 'hooks[0].hookName' },
    { name: 'a relative hook path', doc: edits({ hooks: [{ hookName: 'poststop', path: 'true' }] }), message: 'hooks[0].path' },
    { name: 'a zero hook timeout', doc: edits({ hooks: [{ hookName: 'poststop', path: '/bin/true', timeout: 0 }] }), message: 'must be greater than zero' },
    { name: 'mount type in 0.3.0', doc: edits({ mounts: [{ hostPath: '/h', containerPath: '/c', type: 'bind' }] }, '0.3.0'), message: 'cdiVersion 0.3.0 is too old for mounts[].type (needs 0.4.0 or newer)' },
    { name: 'deviceNodes hostPath in 0.4.0', doc: edits({ deviceNodes: [{ path: '/dev/x', hostPath: '/dev/null' }] }, '0.4.0'), message: 'needs 0.5.0 or newer' },
    { name: 'annotations in 0.5.0', doc: base({ cdiVersion: '0.5.0', annotations: { a: 'b' } }), message: 'needs 0.6.0 or newer' },
    { name: 'additionalGids in 0.6.0', doc: edits({ additionalGids: [1] }, '0.6.0'), message: 'needs 0.7.0 or newer' },
    { name: 'a gid above uint32', doc: edits({ additionalGids: [2 ** 32] }, '0.7.0'), message: 'additionalGids[0]' },
    { name: 'too many entries', doc: edits({ env: Array.from({ length: 5000 }, (_, i) => `A${i}=1`) }), message: 'more than 4096 entries' },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => {
      expect(() => validateCdiSpec(c.doc)).to.throw(InvalidArgumentError, c.message);
    });
  }

  it('reports the newest feature used', () => {
    expect(minimumVersion(validateCdiSpec(base())).version).to.equal('0.3.0');
    expect(minimumVersion(validateCdiSpec(edits({ intelRdt: { closID: 'x' } }, '0.8.0'))).version).to.equal('0.7.0');
  });
});

describe('runtime/cdi validate: YAML alias amplification', () => {
  it('refuses a spec whose aliases repeat a big list past the total bound, quickly', async () => {
    const { load, CORE_SCHEMA } = await import('js-yaml');
    const env = Array.from({ length: 4000 }, (_, i) => `      - E${i}=1`).join('\n');
    const devices = Array.from({ length: 100 }, (_, i) => `  - name: d${i}\n    containerEdits: *edits`).join('\n');
    const text = `cdiVersion: "0.3.0"\nkind: v.com/c\nx: &edits\n  env:\n${env}\ndevices:\n${devices}\n`;
    const started = Date.now();
    expect(() => validateCdiSpec(load(text, { schema: CORE_SCHEMA }))).to.throw(InvalidArgumentError, 'more than 65536 list entries in all');
    expect(Date.now() - started).to.be.lessThan(2000);
    // The same spec with few devices is fine: the bound is on the total.
    const few = text.replace(devices, devices.split('\n').slice(0, 4).join('\n'));
    expect(validateCdiSpec(load(few, { schema: CORE_SCHEMA })).devices).to.have.length(2);
  });
});
