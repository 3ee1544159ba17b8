import { expect } from 'chai';
import { boundingCapabilities, parseHardLimit } from './host-facts';

describe('runtime/host-facts', () => {
  it('limits capabilities to the bounding set', () => {
    // bits 0 (CHOWN), 5 (KILL), 21 (SYS_ADMIN)
    const status = `Name:\tx\nCapBnd:\t${(1 | (1 << 5) | (1 << 21)).toString(16).padStart(16, '0')}\n`;
    expect(boundingCapabilities(status, 40)).to.deep.equal(['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN']);
    expect(boundingCapabilities('CapBnd:\t000001ffffffffff\n', 37)).to.have.length(38);
    expect(boundingCapabilities('no caps line', 40)).to.have.length(41);
  });
  it('parses hard limits', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 20000                files     \nMax locked memory         unlimited            unlimited            bytes\n';
    expect(parseHardLimit(limits, 'Max open files')).to.equal(20000);
    expect(parseHardLimit(limits, 'Max locked memory')).to.equal(undefined);
  });
});
