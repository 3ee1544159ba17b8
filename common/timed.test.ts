import { expect } from 'chai';
import { timeAsync } from './timed';

describe('common/timed', () => {
  it('reports the duration and success of a step, and failure when it throws (rethrown)', async () => {
    const reports: Array<[number, boolean]> = [];
    const report = (seconds: number, ok: boolean) => reports.push([seconds, ok]);
    expect(await timeAsync(() => new Promise<string>((r) => setTimeout(() => r('done'), 20)), report)).to.equal('done');
    let caught: unknown;
    await timeAsync(() => Promise.reject(new Error('boom')), report).catch((err: unknown) => (caught = err));
    expect(String(caught)).to.contain('boom');
    expect(reports.map(([, ok]) => ok)).to.deep.equal([true, false]);
    expect(reports[0][0]).to.be.within(0.015, 1);
  });
});
