import { expect } from 'chai';
import { InvalidArgumentError } from '../common/errors';
import { bandwidthFromAnnotations, parseQuantity } from './quantity';
import type { PodSandboxConfigInput } from './types';
import { validatePodConfig } from './validate-config';

const handlers = { handlers: ['runc'], defaultHandler: 'runc' };
const base = (extra: Partial<PodSandboxConfigInput> = {}): PodSandboxConfigInput => ({ metadata: { name: 'web', namespace: 'default', uid: 'u-1', attempt: 0 }, ...extra });

/**
 * CPU milliseconds `fn` takes (this process's, so a loaded machine does not count) and what it
 * threw (a refusal is the expected outcome).
 */
function timed(fn: () => unknown): { ms: number; error: unknown } {
  const started = process.cpuUsage();
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  const used = process.cpuUsage(started);
  return { ms: (used.user + used.system) / 1000, error };
}

describe('pod: hostile annotation sizes and quantities', () => {
  it('refuses a 200 000-digit + "x" bandwidth value in < 50 ms, naming the annotation', () => {
    const value = `${'1'.repeat(200_000)}x`;
    const r = timed(() => validatePodConfig(base({ annotations: { 'kubernetes.io/ingress-bandwidth': value } }), '', handlers));
    expect(r.error).to.be.instanceOf(InvalidArgumentError);
    expect((r.error as Error).message).to.equal('annotations["kubernetes.io/ingress-bandwidth"]: value of 200001 bytes exceeds 64 bytes (a quantity)');
    expect(r.ms).to.be.below(50);
  });

  it('the quantity scanner is linear even without its length cap: 200 000 digits + "x"', () => {
    for (const value of [`${'1'.repeat(200_000)}x`, `${'1'.repeat(100_000)}.${'1'.repeat(100_000)}x`, `1e${'1'.repeat(200_000)}x`]) {
      let result: number | undefined = 0;
      const r = timed(() => (result = parseQuantity(value, Infinity)));
      expect(r.error).to.equal(undefined);
      expect(result).to.equal(undefined);
      expect(r.ms).to.be.below(50);
    }
    expect(parseQuantity('1'.repeat(65))).to.equal(undefined); // the cap itself
  });

  it('the scanner reads the same language as before', () => {
    const cases: Array<[string, number | undefined]> = [
      ['10M', 10e6], ['1Gi', 2 ** 30], ['+5k', 5e3], ['-1', -1], ['.5', 0.5], ['5.', 5], ['1.5e3', 1500], ['2E-3', 0.002], [' 7m ', 0.007], ['3Ei', 3 * 2 ** 60],
      ['', undefined], ['.', undefined], ['+', undefined], ['1e', undefined], ['1e+', undefined], ['1Mi2', undefined], ['1K', undefined], ['1 k', undefined], ['0x10', undefined], ['1ee3', undefined], ['1.2.3', undefined], ['1constructor', undefined], ['1__proto__', undefined],
    ];
    for (const [text, want] of cases) expect(parseQuantity(text), text).to.equal(want);
  });

  it('an over-long quantity is refused before it is parsed; an ordinary one still passes', () => {
    expect(() => bandwidthFromAnnotations({ 'kubernetes.io/egress-bandwidth': '1'.repeat(65) })).to.throw(InvalidArgumentError, /^annotations\["kubernetes.io\/egress-bandwidth"\]: value of 65 bytes exceeds 64 bytes/);
    expect(bandwidthFromAnnotations({ 'kubernetes.io/egress-bandwidth': '10M' })).to.deep.equal({ egressBps: 10e6 });
  });

  it('caps annotations and labels like Kubernetes, before anything reads them', () => {
    const big = 'v'.repeat(256 * 1024 + 1);
    expect(() => validatePodConfig(base({ annotations: { note: big } }), '', handlers)).to.throw(InvalidArgumentError, /^annotations\["note"\]: value of 262145 bytes exceeds 262144 bytes/);
    const many: Record<string, string> = {};
    for (let i = 0; i < 5; i++) many[`k${i}`] = 'v'.repeat(60 * 1024);
    expect(() => validatePodConfig(base({ annotations: many }), '', handlers)).to.throw(InvalidArgumentError, /^annotations: keys and values exceed 262144 bytes in total/);
    expect(() => validatePodConfig(base({ annotations: { ['k'.repeat(318)]: '1' } }), '', handlers)).to.throw(InvalidArgumentError, /^annotations\["k+…"\]: key of 318 bytes exceeds 317 bytes/);
    expect(() => validatePodConfig(base({ labels: { app: 'x'.repeat(1025) } }), '', handlers)).to.throw(InvalidArgumentError, /^labels\["app"\]: value of 1025 bytes exceeds 1024 bytes/);
    // bytes, not UTF-16 units: 100 000 three-byte characters are 300 000 bytes
    expect(() => validatePodConfig(base({ annotations: { note: '€'.repeat(100_000) } }), '', handlers)).to.throw(InvalidArgumentError, /value of 300000 bytes/);
    const ok = validatePodConfig(base({ labels: { app: 'web' }, annotations: { note: 'v'.repeat(200 * 1024) } }), '', handlers);
    expect(ok.annotations.note).to.have.length(200 * 1024);
  });

  it('a cgroup_parent of 200 000 slashes + "a" is refused at once (the trailing-slash trim was quadratic)', () => {
    const r = timed(() => validatePodConfig(base({ linux: { cgroupParent: `/${'/'.repeat(200_000)}a` } }), '', handlers));
    expect((r.error as Error).message).to.match(/^config\.linux\.cgroup_parent: is longer than 4096 characters/);
    expect(r.ms).to.be.below(50);
    const r2 = timed(() => validatePodConfig(base({ linux: { cgroupParent: `/kubepods${'/'.repeat(4000)}` } }), '', handlers));
    expect(r2.error).to.equal(undefined);
    expect(r2.ms).to.be.below(50);
  });
});
