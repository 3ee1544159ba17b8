import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { AddonNativeBinding } from './addon';
import { checkAddonExports, loadAddonFile, loadRawAddon, nativeAddonProblem, NATIVE_ABI_VERSION, RAW_ADDON_OPS, type RawAddon } from './addon-loader';
import { NativeError, type NativeBinding } from './binding';

/** Exports of a fake addon with every op, minus `without`. */
function fakeExports(without: readonly string[] = [], abiVersion: unknown = NATIVE_ABI_VERSION): Record<string, unknown> {
  const exports: Record<string, unknown> = { abiVersion };
  for (const op of RAW_ADDON_OPS) if (!without.includes(op)) exports[op] = () => undefined;
  return exports;
}

/** The NativeError `fn` throws. */
function thrown(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(NativeError);
    return error as NativeError;
  }
  throw new Error('expected a throw');
}

describe('native/addon-loader: the start-up check of the addon', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-loader-'));
    file = path.join(dir, 'berth_native.node');
    fs.writeFileSync(file, '');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accepts exports with every op and the expected ABI marker', () => {
    const exports = fakeExports();
    expect(loadAddonFile(file, () => exports)).to.equal(exports);
  });

  it('names the file, the missing op and the fix', () => {
    const error = thrown(() => loadAddonFile(file, () => fakeExports(['spawnProcess'])));
    expect(error.message).to.equal(`native addon ${file}: missing op spawnProcess; rebuild with npm run build:native`);
    expect(error.code).to.equal('ELIBBAD');
  });

  it('lists every missing op and a wrong or absent ABI marker together', () => {
    expect(thrown(() => checkAddonExports(file, fakeExports(['reduceMemory', 'watchChild'], 1))).message).to.equal(
      `native addon ${file}: missing ops watchChild, reduceMemory; ABI version 1, expected ${NATIVE_ABI_VERSION}; rebuild with npm run build:native`,
    );
    const unmarked = fakeExports();
    delete unmarked.abiVersion;
    expect(thrown(() => checkAddonExports(file, unmarked)).message).to.contain('ABI version missing');
    expect(thrown(() => checkAddonExports(file, fakeExports(['mount']))).message).to.contain('missing op mount;');
  });

  it('treats an op that is not a function as missing, and exports that are no object as unusable', () => {
    expect(thrown(() => checkAddonExports(file, { ...fakeExports(), makePipe: 42 })).message).to.contain('missing op makePipe;');
    expect(thrown(() => checkAddonExports(file, undefined)).message).to.equal(`native addon ${file}: exports no object; rebuild with npm run build:native`);
  });

  it('names the file when it is absent or does not load', () => {
    const absent = path.join(dir, 'nope', 'berth_native.node');
    const missing = thrown(() => loadAddonFile(absent, () => fakeExports()));
    expect(missing.message).to.equal(`native addon ${absent}: file does not exist; rebuild with npm run build:native`);
    expect(missing.code).to.equal('ENOENT');
    const broken = thrown(() =>
      loadAddonFile(file, () => {
        throw new Error(`${file}: invalid ELF header\nmore detail`);
      }),
    );
    expect(broken.message).to.equal(`native addon ${file}: cannot load (${file}: invalid ELF header); rebuild with npm run build:native`);
  });

  it('nativeAddonProblem returns the message of a failing load, undefined for a good one', () => {
    expect(nativeAddonProblem(() => loadAddonFile(file, () => fakeExports(['openPty'])))).to.equal(`native addon ${file}: missing op openPty; rebuild with npm run build:native`);
    expect(nativeAddonProblem(() => fakeExports())).to.equal(undefined);
  });

  it('the built addon passes the check and exports nothing the check does not know', () => {
    const addon = loadRawAddon();
    expect(addon.abiVersion).to.equal(NATIVE_ABI_VERSION);
    expect(Object.keys(addon).filter((key) => key !== 'abiVersion').sort()).to.deep.equal([...RAW_ADDON_OPS].sort());
  });

  it('the binding over a fake addon forwards spawn, pipe, child watch and memory trim', () => {
    const seen: string[] = [];
    const raw = fakeExports() as Record<string, unknown>;
    raw.spawnProcess = (file: string, argv: string[]) => (seen.push(`spawn ${file} ${argv.join(' ')}`), 4242);
    raw.makePipe = () => (seen.push('pipe'), [7, 8]);
    raw.watchChild = (pid: number) => (seen.push(`watchChild ${pid}`), { close: () => seen.push('close') });
    raw.reduceMemory = () => void seen.push('reduce');
    const binding: NativeBinding = new AddonNativeBinding(checkAddonExports(file, raw) satisfies RawAddon);
    expect(binding.spawnProcess('/bin/true', ['/bin/true', 'x'], [], '', [-1], false)).to.equal(4242);
    expect(binding.makePipe()).to.deep.equal([7, 8]);
    binding.watchChild(4242, () => undefined).close();
    binding.reduceMemory();
    expect(seen).to.deep.equal(['spawn /bin/true /bin/true x', 'pipe', 'watchChild 4242', 'close', 'reduce']);
  });
});
