import { expect } from 'chai';
import { gaugeValue, parseLoopLag } from './loop-lag';

const SCRAPE = `# HELP berth_nodejs_eventloop_lag_p50_seconds The 50th percentile of the recorded event loop delays.
# TYPE berth_nodejs_eventloop_lag_p50_seconds gauge
berth_nodejs_eventloop_lag_p50_seconds 0.010174463
berth_nodejs_eventloop_lag_p90_seconds 0.011
berth_nodejs_eventloop_lag_p99_seconds 0.031
berth_nodejs_eventloop_lag_max_seconds 0.2
berth_nodejs_eventloop_lag_seconds 0
container_runtime_berth_operations_total{operation="Version",code="OK"} 3
`;

describe('bench: event-loop delay from /metrics', () => {
  it('reads the p50, p99 and max gauges in milliseconds', () => {
    const lag = parseLoopLag(SCRAPE)!;
    expect(lag.p50Ms).to.be.closeTo(10.174, 1e-3);
    expect(lag.p99Ms).to.be.closeTo(31, 1e-9);
    expect(lag.maxMs).to.be.closeTo(200, 1e-9);
  });

  it('says undefined when a gauge is missing and reads labelled samples', () => {
    expect(parseLoopLag(SCRAPE.replace(/^berth_nodejs_eventloop_lag_p99.*$/m, ''))).to.equal(undefined);
    expect(parseLoopLag(SCRAPE, 'other_')).to.equal(undefined);
    expect(gaugeValue(SCRAPE, 'container_runtime_berth_operations_total')).to.equal(3);
    expect(gaugeValue(SCRAPE, 'berth_nodejs_eventloop_lag')).to.equal(undefined);
  });
});
