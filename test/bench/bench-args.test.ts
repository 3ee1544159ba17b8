import { expect } from 'chai';
import { DEFAULT_SECTIONS, parseBenchArgs } from './bench-args';

describe('bench: parseBenchArgs', () => {
  it('defaults to every section and the CRI benchmark counts', () => {
    const a = parseBenchArgs([]);
    expect(a.sections).to.deep.equal([...DEFAULT_SECTIONS]);
    expect(a.sections).to.not.include('image-throughput');
    expect([a.pods, a.containers, a.pulls, a.densityPods, a.listPods]).to.deep.equal([40, 40, 10, 30, 110]);
    expect(a.endpoint).to.equal(undefined);
    expect(a.vs).to.equal(undefined);
    expect(a.sections).to.include('kubelet').and.to.include('parallel-start');
    expect([a.kubeletPods, a.durationS, a.probeShare, a.startPods, a.inFlight, a.memoryWaitS, a.quietBeforeS]).to.deep.equal([110, 60, 0.25, 30, 10, 30, 30]);
  });

  it('reads the kubelet and parallel-start options; --pods sets the kubelet pods too', () => {
    const a = parseBenchArgs(['--section', 'kubelet', '--pods', '10', '--duration', '10', '--probe-share', '1/2', '--start-pods', '5', '--in-flight', '2', '--memory-wait', '3', '--quiet-before', '4']);
    expect([a.pods, a.kubeletPods, a.durationS, a.probeShare, a.startPods, a.inFlight, a.memoryWaitS, a.quietBeforeS]).to.deep.equal([10, 10, 10, 0.5, 5, 2, 3, 4]);
    expect(parseBenchArgs(['--kubelet-pods', '7']).pods).to.equal(40);
    expect(parseBenchArgs(['--probe-share', '0.1']).probeShare).to.equal(0.1);
    expect(() => parseBenchArgs(['--probe-share', '2'])).to.throw(/--probe-share: not a share/);
    expect(() => parseBenchArgs(['--probe-share', '1/0'])).to.throw(/not a share/);
    expect(() => parseBenchArgs(['--in-flight', '0'])).to.throw(/at least 1/);
    expect(parseBenchArgs([]).rounds).to.equal(1);
    expect(parseBenchArgs(['--rounds', '4']).rounds).to.equal(4);
    expect(() => parseBenchArgs(['--rounds', '0'])).to.throw(/--rounds: at least 1/);
  });

  it('strips unix:// from --endpoint and reads counts and sections', () => {
    const a = parseBenchArgs(['--endpoint', 'unix:///run/containerd/containerd.sock', '--pods', '5', '--section', 'cri,density']);
    expect(a.endpoint).to.equal('/run/containerd/containerd.sock');
    expect(a.pods).to.equal(5);
    expect(a.sections).to.deep.equal(['cri', 'density']);
  });

  it('refuses unknown sections, runtimes, bad counts and --endpoint with --vs', () => {
    expect(() => parseBenchArgs(['--section', 'nope'])).to.throw(/unknown section nope/);
    expect(() => parseBenchArgs(['--vs', 'crio'])).to.throw(/only containerd/);
    expect(() => parseBenchArgs(['--pods', '-1'])).to.throw(/not a count/);
    expect(() => parseBenchArgs(['--pods'])).to.throw(/needs a value/);
    expect(() => parseBenchArgs(['--endpoint', '/x.sock', '--vs', 'containerd'])).to.throw(/exclude each other/);
    expect(() => parseBenchArgs(['--bogus'])).to.throw(/unknown argument --bogus/);
  });
});
