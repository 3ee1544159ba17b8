import { expect } from 'chai';
import { errorKindOf } from '../common/errors';
import { parsePluginFailure } from './plugin-error';

describe('cni/plugin-error', () => {
  const base = { plugin: 'bridge', command: 'ADD', stderr: '', exitCode: 1, signal: null };

  it('parses the spec error object from stdout', () => {
    const err = parsePluginFailure({
      ...base,
      stdout: '{"cniVersion":"1.0.0","code":7,"msg":"invalid config","details":"bridge name too long"}',
    });
    expect(err.cniCode).to.equal(7);
    expect(err.details).to.equal('bridge name too long');
    expect(err.message).to.equal('run CNI plugin bridge ADD: code 7: invalid config (bridge name too long)');
    expect(errorKindOf(err)).to.equal('Internal');
  });

  it('maps "try again later" (11) and STATUS codes (50, 51) to Unavailable', () => {
    for (const code of [11, 50, 51]) {
      expect(errorKindOf(parsePluginFailure({ ...base, stdout: `{"code":${code},"msg":"busy"}` }))).to.equal('Unavailable');
    }
  });

  it('falls back to stderr and the exit status when stdout has no error object', () => {
    const err = parsePluginFailure({ ...base, stdout: 'garbage', stderr: 'line1\npanic: boom\n', exitCode: 2 });
    expect(err.cniCode).to.equal(undefined);
    expect(err.message).to.equal('run CNI plugin bridge ADD: exit status 2: line1 | panic: boom');
    const killed = parsePluginFailure({ ...base, stdout: '', exitCode: null, signal: 'SIGSEGV' });
    expect(killed.message).to.equal('run CNI plugin bridge ADD: killed by SIGSEGV');
  });
});
