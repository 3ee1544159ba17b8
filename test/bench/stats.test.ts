import { expect } from 'chai';
import { fmtMs, quantile, summarize } from './stats';

describe('bench: percentiles', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted

  it('takes the nearest rank, whatever the input order', () => {
    expect(quantile(hundred, 0.5)).to.equal(50);
    expect(quantile(hundred, 0.99)).to.equal(99);
    expect(quantile(hundred, 0.9)).to.equal(90);
    expect(quantile(hundred, 0)).to.equal(1);
    expect(quantile(hundred, 1)).to.equal(100);
    expect(hundred[0]).to.equal(100); // the input is not sorted in place
  });

  it('makes p99 of 60 relists the largest sample and p50 the lower middle', () => {
    const sixty = Array.from({ length: 60 }, (_, i) => i + 1);
    expect(quantile(sixty, 0.99)).to.equal(60);
    expect(quantile(sixty, 0.5)).to.equal(30);
    expect(quantile([7], 0.99)).to.equal(7);
  });

  it('is NaN for no samples, printed as "-"', () => {
    expect(quantile([], 0.5)).to.be.NaN;
    expect(summarize([])).to.deep.equal({ medianMs: NaN, p90Ms: NaN });
    expect(fmtMs(NaN)).to.equal('-');
    expect([fmtMs(1.23456), fmtMs(12.3456), fmtMs(123.456)]).to.deep.equal(['1.235', '12.35', '123.5']);
  });
});
