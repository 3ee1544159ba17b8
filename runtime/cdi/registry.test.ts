import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorKindOf } from '../../common/errors';
import type { LogFields, Logger } from '../../common/logger';
import { CdiRegistry, MAX_SPEC_FILE_BYTES } from './registry';
import { subdirs, tempDirEach } from '../../common/testing/temp-dir-fixtures';

/** Records warnings so tests can see which files were skipped. */
class RecordingLogger implements Logger {
  readonly warnings: Array<{ msg: string; fields?: LogFields }> = [];
  debug(): void {}
  info(): void {}
  warn(msg: string, fields?: LogFields): void {
    this.warnings.push({ msg, fields });
  }
  error(): void {}
  child(): Logger {
    return this;
  }
}

const req = (name: string, field = 'cdi_devices[0]') => ({ name, field });

describe('runtime/cdi registry', () => {
  let tmp: string;
  let etc: string;
  let run: string;
  let logger: RecordingLogger;
  let registry: CdiRegistry;
  tempDirEach('berth-cdi-', async (d) => {
    tmp = d;
    [etc, run] = subdirs(tmp, 'etc-cdi', 'run-cdi');
    logger = new RecordingLogger();
    registry = new CdiRegistry([etc, run, path.join(tmp, 'missing-dir')], logger);
  });

  const gpuSpec = {
    cdiVersion: '0.6.0',
    kind: 'vendor.com/gpu',
    containerEdits: { env: ['SPEC_LEVEL=1'], deviceNodes: [{ path: '/dev/vendorctl', hostPath: '/dev/null' }] },
    devices: [
      { name: 'gpu0', containerEdits: { env: ['GPU=0'], deviceNodes: [{ path: '/dev/gpu0', hostPath: '/dev/zero', permissions: 'rw' }], mounts: [{ hostPath: '/usr/lib', containerPath: '/usr/lib/vendor', options: ['ro', 'rbind'] }] } },
      { name: 'gpu1', containerEdits: { env: ['GPU=1'], hooks: [{ hookName: 'createContainer', path: '/usr/bin/vendor-hook', args: ['vendor-hook', 'gpu1'] }] } },
    ],
  };

  it('resolves JSON devices: spec-level edits once, device edits in order, nodes completed from the host', async () => {
    await fs.writeFile(path.join(etc, 'gpu.json'), JSON.stringify(gpuSpec));
    const edits = await registry.resolve([req('vendor.com/gpu=gpu0'), req('vendor.com/gpu=gpu1', 'cdi_devices[1]')]);
    expect(edits.devices).to.deep.equal(['vendor.com/gpu=gpu0', 'vendor.com/gpu=gpu1']);
    expect(edits.env).to.deep.equal(['SPEC_LEVEL=1', 'GPU=0', 'GPU=1']);
    expect(edits.deviceNodes).to.deep.equal([
      { path: '/dev/vendorctl', permissions: 'rwm', type: 'c', major: 1, minor: 3, fileMode: 0o666 },
      { path: '/dev/gpu0', permissions: 'rw', type: 'c', major: 1, minor: 5, fileMode: 0o666 },
    ]);
    expect(edits.mounts).to.deep.equal([{ hostPath: '/usr/lib', containerPath: '/usr/lib/vendor', options: ['ro', 'rbind'] }]);
    expect(edits.hooks).to.deep.equal([{ hookName: 'createContainer', path: '/usr/bin/vendor-hook', args: ['vendor-hook', 'gpu1'] }]);
  });

  it('reads YAML specs with additionalGids (0.7.0)', async () => {
    await fs.writeFile(
      path.join(run, 'net.yaml'),
      ['cdiVersion: "0.7.0"', 'kind: example.com/net', 'devices:', '  - name: "0"', '    containerEdits:', '      additionalGids: [44, 0]', '      env:', '        - NET=0', ''].join('\n'),
    );
    const edits = await registry.resolve([req('example.com/net=0')]);
    expect(edits.env).to.deep.equal(['NET=0']);
    expect(edits.additionalGids).to.deep.equal([44, 0]);
  });

  it('an unknown device is FailedPrecondition naming the request field and the device', async () => {
    await fs.writeFile(path.join(etc, 'gpu.json'), JSON.stringify(gpuSpec));
    const err = await registry.resolve([req('vendor.com/gpu=gpu0'), req('vendor.com/gpu=x', 'cdi_devices[1]')]).then(() => undefined, (e: unknown) => e);
    expect(errorKindOf(err)).to.equal('FailedPrecondition');
    expect((err as Error).message).to.equal('cdi_devices[1]: unknown CDI device "vendor.com/gpu=x"');
  });

  it('logs and skips an invalid spec file; the valid ones still resolve', async () => {
    await fs.writeFile(path.join(etc, 'a-broken.json'), '{"cdiVersion": "0.3.0", "kind": ');
    await fs.writeFile(path.join(etc, 'b-invalid.yaml'), 'cdiVersion: "0.3.0"\nkind: nokind\ndevices: []\n');
    await fs.writeFile(path.join(etc, 'c-old.json'), JSON.stringify({ ...gpuSpec, kind: 'old.com/gpu', cdiVersion: '0.3.0' }));
    await fs.writeFile(path.join(etc, 'gpu.json'), JSON.stringify(gpuSpec));
    await fs.writeFile(path.join(etc, 'ignored.txt'), 'not a spec');
    const edits = await registry.resolve([req('vendor.com/gpu=gpu1')]);
    expect(edits.env).to.deep.equal(['SPEC_LEVEL=1', 'GPU=1']);
    const skipped = logger.warnings.map((w) => String(w.fields?.file));
    expect(skipped).to.deep.equal([path.join(etc, 'a-broken.json'), path.join(etc, 'b-invalid.yaml'), path.join(etc, 'c-old.json')]);
    expect(String(logger.warnings[2].fields?.error)).to.contain('too old');
    // Unchanged files are not parsed (nor logged) again.
    await registry.resolve([req('vendor.com/gpu=gpu1')]);
    expect(logger.warnings).to.have.length(3);
  });

  it('two files of one directory defining a device: an error naming both files', async () => {
    await fs.writeFile(path.join(etc, 'a.json'), JSON.stringify(gpuSpec));
    await fs.writeFile(path.join(etc, 'b.yaml'), JSON.stringify({ ...gpuSpec, devices: [gpuSpec.devices[1]] }));
    const err = await registry.resolve([req('vendor.com/gpu=gpu1')]).then(() => undefined, (e: unknown) => e);
    expect(errorKindOf(err)).to.equal('FailedPrecondition');
    expect((err as Error).message).to.equal(`cdi_devices[0]: CDI device "vendor.com/gpu=gpu1" is defined by both ${path.join(etc, 'a.json')} and ${path.join(etc, 'b.yaml')}`);
    // gpu0 is defined once: still usable.
    expect((await registry.resolve([req('vendor.com/gpu=gpu0')])).devices).to.deep.equal(['vendor.com/gpu=gpu0']);
  });

  it('a later directory overrides an earlier one', async () => {
    await fs.writeFile(path.join(etc, 'gpu.json'), JSON.stringify(gpuSpec));
    await fs.writeFile(path.join(run, 'gpu.json'), JSON.stringify({ ...gpuSpec, containerEdits: undefined, devices: [{ name: 'gpu1', containerEdits: { env: ['FROM_RUN=1'] } }] }));
    expect((await registry.resolve([req('vendor.com/gpu=gpu1')])).env).to.deep.equal(['FROM_RUN=1']);
  });

  it('sees files added, changed and removed since the last resolve', async () => {
    const file = path.join(etc, 'gpu.json');
    expect(errorKindOf(await registry.resolve([req('vendor.com/gpu=gpu0')]).catch((e: unknown) => e))).to.equal('FailedPrecondition');
    await fs.writeFile(file, JSON.stringify(gpuSpec));
    expect((await registry.resolve([req('vendor.com/gpu=gpu0')])).env).to.include('GPU=0');
    await fs.writeFile(file, JSON.stringify({ ...gpuSpec, devices: [{ name: 'gpu0', containerEdits: { env: ['CHANGED=1'] } }] }));
    expect((await registry.resolve([req('vendor.com/gpu=gpu0')])).env).to.deep.equal(['SPEC_LEVEL=1', 'CHANGED=1']);
    await fs.rm(file);
    expect(errorKindOf(await registry.resolve([req('vendor.com/gpu=gpu0')]).catch((e: unknown) => e))).to.equal('FailedPrecondition');
  });

  it('a device node missing on the host is FailedPrecondition naming the device, the file and the path', async () => {
    await fs.writeFile(path.join(etc, 'gpu.json'), JSON.stringify({ cdiVersion: '0.3.0', kind: 'vendor.com/gpu', devices: [{ name: 'g', containerEdits: { deviceNodes: [{ path: path.join(tmp, 'nonode') }] } }] }));
    const err = await registry.resolve([req('vendor.com/gpu=g', 'annotations["cdi.k8s.io/x"]')]).catch((e: unknown) => e);
    expect(errorKindOf(err)).to.equal('FailedPrecondition');
    expect((err as Error).message).to.contain(`annotations["cdi.k8s.io/x"]: CDI device "vendor.com/gpu=g" (${path.join(etc, 'gpu.json')}): device node ${path.join(tmp, 'nonode')} does not exist on the host`);
  });

  it('keeps complete nodes as written without touching the host', async () => {
    await fs.writeFile(path.join(etc, 'gpu.json'), JSON.stringify({ cdiVersion: '0.3.0', kind: 'vendor.com/gpu', devices: [{ name: 'g', containerEdits: { deviceNodes: [{ path: '/dev/nowhere', type: 'c', major: 195, minor: 7, fileMode: 0o660, uid: 5, gid: 6 }] } }] }));
    expect((await registry.resolve([req('vendor.com/gpu=g')])).deviceNodes).to.deep.equal([{ path: '/dev/nowhere', permissions: 'rwm', uid: 5, gid: 6, type: 'c', major: 195, minor: 7, fileMode: 0o660 }]);
  });

  it('a spec "directory" that is a file is logged and skipped; the other directories still count', async () => {
    const notDir = path.join(tmp, 'file-not-dir');
    await fs.writeFile(notDir, '');
    await fs.writeFile(path.join(run, 'gpu.json'), JSON.stringify(gpuSpec));
    const r = new CdiRegistry([notDir, run], logger);
    expect((await r.resolve([req('vendor.com/gpu=gpu1')])).devices).to.deep.equal(['vendor.com/gpu=gpu1']);
    expect(logger.warnings.map((w) => w.msg)).to.deep.equal(['CDI spec directory skipped']);
  });

  it('skips a spec file over the size bound', async () => {
    await fs.writeFile(path.join(etc, 'big.json'), ' '.repeat(MAX_SPEC_FILE_BYTES + 1));
    await fs.writeFile(path.join(etc, 'gpu.json'), JSON.stringify(gpuSpec));
    await registry.resolve([req('vendor.com/gpu=gpu0')]);
    expect(String(logger.warnings[0]?.fields?.error)).to.contain(`larger than ${MAX_SPEC_FILE_BYTES} bytes`);
  });
});

describe('runtime/cdi registry: concurrent resolves', () => {
  it('a resolve that starts during a scan sees a file written after that scan began', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-cdi-race-'));
    try {
      const registry = new CdiRegistry([tmp]);
      const spec = (name: string) => JSON.stringify({ cdiVersion: '0.3.0', kind: 'v.com/c', devices: [{ name, containerEdits: { env: [`N=${name}`] } }] });
      await fs.writeFile(path.join(tmp, 'a.json'), spec('a'));
      const first = registry.resolve([{ name: 'v.com/c=a', field: 'cdi_devices[0]' }]);
      await fs.writeFile(path.join(tmp, 'b.json'), spec('b'));
      const second = registry.resolve([{ name: 'v.com/c=b', field: 'cdi_devices[0]' }]);
      expect((await first).env).to.deep.equal(['N=a']);
      expect((await second).env).to.deep.equal(['N=b']);
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
});
