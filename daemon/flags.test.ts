import { expect } from 'chai';
import { InvalidArgumentError } from '../common/errors';
import { parseArgs } from './flags';

describe('daemon/flags', () => {
  it('splits command words, config flags and general flags in any order', () => {
    const args = parseArgs(['--listen', '/a.sock', 'config', '--log-level=debug', '--config', '/c.toml', '--config-dir=/d']);
    expect(args.command).to.deep.equal(['config']);
    expect(args.optionFlags).to.deep.equal([
      { flag: 'listen', value: '/a.sock' },
      { flag: 'log-level', value: 'debug' },
    ]);
    expect(args.configPath).to.equal('/c.toml');
    expect(args.configDir).to.equal('/d');
    expect(args.help).to.equal(false);
  });

  it('accepts an empty value with = (metrics disabled)', () => {
    expect(parseArgs(['--metrics-listen=']).optionFlags).to.deep.equal([{ flag: 'metrics-listen', value: '' }]);
  });

  it('recognises -h and --help', () => {
    expect(parseArgs(['-h']).help).to.equal(true);
    expect(parseArgs(['version', '--help']).help).to.equal(true);
  });

  it('refuses unknown flags and missing values naming the flag', () => {
    expect(() => parseArgs(['--pause-uid', '1'])).to.throw(InvalidArgumentError, 'unknown flag --pause-uid');
    expect(() => parseArgs(['-x'])).to.throw(InvalidArgumentError, 'unknown flag -x');
    expect(() => parseArgs(['--root'])).to.throw(InvalidArgumentError, '--root needs a value');
  });
});
