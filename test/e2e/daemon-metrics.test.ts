/** berthd's Prometheus endpoint: RPCs show up in the operations counters with their status code. */
import { expect } from 'chai';
import { isServiceError } from '../support/cri-client';
import { httpGetText, startBerthd, type BerthdInstance } from './support/berthd';

/** The value of one sample line, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('e2e: berthd metrics', function () {
  this.timeout(60000);
  let d: BerthdInstance | undefined;
  afterEach(async () => {
    await d?.cleanup();
    d = undefined;
  });

  it('counts RPCs by operation and code, errors separately, with latency', async () => {
    d = await startBerthd();
    const address = d.metricsAddress!;
    const before = await httpGetText(address, '/metrics');
    expect(sample(before, 'container_runtime_berth_operations_total{operation="Version",code="OK"}')).to.equal(undefined);

    const client = d.client();
    await client.version({});
    await client.version({});
    await client.status({});
    // An RPC no layer serves yet (or one that fails) is counted with its code.
    const unimplemented = await client.checkpointContainer({ containerId: 'x' }).then(
      () => undefined,
      (err: unknown) => (isServiceError(err) ? err.code : String(err)),
    );
    expect(unimplemented).to.equal(12); // UNIMPLEMENTED

    const after = await httpGetText(address, '/metrics');
    expect(sample(after, 'container_runtime_berth_operations_total{operation="Version",code="OK"}')).to.equal(2);
    expect(sample(after, 'container_runtime_berth_operations_total{operation="Status",code="OK"}')).to.equal(1);
    expect(sample(after, 'container_runtime_berth_operations_total{operation="CheckpointContainer",code="UNIMPLEMENTED"}')).to.equal(1);
    expect(sample(after, 'container_runtime_berth_operations_errors_total{operation="CheckpointContainer",code="UNIMPLEMENTED"}')).to.equal(1);
    expect(sample(after, 'container_runtime_berth_operations_latency_seconds_count{operation="Version"}')).to.equal(2);
    expect(sample(after, 'berth_process_resident_memory_bytes')).to.be.greaterThan(1024 * 1024);
  });

  it('serves no metrics port when --metrics-listen is empty', async () => {
    d = await startBerthd({ metrics: false });
    expect(d.metricsAddress).to.equal(undefined);
    expect(d.readyRecord.metrics).to.equal('disabled');
    expect((await d.client().version({})).runtimeName).to.equal('berth');
  });
});
