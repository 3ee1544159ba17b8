import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { mergeEnv } from './process';

const extra = { hostname: 'h', tty: false, defaultPath: '/bin' };

describe('runtime/spec mergeEnv config env checks', () => {
  const bad: Array<{ name: string; envs: Array<{ key: string; value: string }>; field: string }> = [
    { name: 'empty key', envs: [{ key: 'A', value: '1' }, { key: '', value: 'v' }], field: 'config.envs[1].key' },
    { name: '"=" in the key', envs: [{ key: 'A=B', value: 'v' }], field: 'config.envs[0].key' },
    { name: 'NUL in the key', envs: [{ key: 'A\0B', value: 'v' }], field: 'config.envs[0].key' },
    { name: 'NUL in the value', envs: [{ key: 'A', value: '1' }, { key: 'B', value: '2' }, { key: 'C', value: 'x\0y' }], field: 'config.envs[2].value' },
    { name: 'lone surrogate in the value (no UTF-8 form)', envs: [{ key: 'A', value: 'x\ud800' }], field: 'config.envs[0].value' },
    { name: 'lone surrogate in the key', envs: [{ key: 'A\udc00', value: 'x' }], field: 'config.envs[0].key' },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with InvalidArgument naming ${c.field}`, () => {
      let caught: unknown;
      try {
        mergeEnv([], c.envs, extra);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(InvalidArgumentError);
      expect((caught as Error).message.startsWith(`${c.field} `) || (caught as Error).message.startsWith(`${c.field}:`), (caught as Error).message).to.equal(true);
    });
  }

  it('passes any well-formed Unicode value as is (UTF-8 in the JSON spec)', () => {
    const value = 'ünï\u{1F600}=\t\n\u0001';
    expect(mergeEnv([], [{ key: 'U', value }], extra)).to.include(`U=${value}`);
  });
});
