import { expect } from 'chai';
import { createLogger, silentLogger } from './logger';

describe('common/logger', () => {
  it('enabled() tells which levels are written, for the logger and its children', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', sink: (l) => lines.push(l) });
    const child = logger.child({ rpc: 'Version' });
    expect(['debug', 'info', 'warn', 'error'].map((l) => child.enabled?.(l as 'debug'))).to.deep.equal([false, true, true, true]);
    child.debug('dropped');
    child.info('kept');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).to.deep.equal(['kept']);
    expect(createLogger({ level: 'debug', sink: () => undefined }).enabled?.('debug')).to.equal(true);
    expect(silentLogger.enabled?.('error')).to.equal(false);
  });
});
