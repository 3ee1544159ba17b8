import { expect } from 'chai';
import { runtime } from '../api/generated/cri';
import { stopSignalToWire } from './container-response-convert';

describe('cri/runtime stopSignalToWire', () => {
  const S = runtime.v1.Signal;
  const cases: Array<[string, runtime.v1.Signal]> = [
    ['', S.SIGTERM],
    ['SIGQUIT', S.SIGQUIT],
    ['quit', S.SIGQUIT],
    ['9', S.SIGKILL],
    ['15', S.SIGTERM],
    ['SIGRTMIN+3', S.SIGRTMINPLUS3],
    ['SIGRTMAX-2', S.SIGRTMAXMINUS2],
    ['SIGRTMAX', S.SIGRTMAX],
    ['SIGWINCH', S.SIGWINCH],
    ['SIGNOPE', S.RUNTIME_DEFAULT],
    ['999', S.RUNTIME_DEFAULT],
    ['constructor', S.RUNTIME_DEFAULT],
  ];
  for (const [name, want] of cases) {
    it(`${JSON.stringify(name)} → ${S[want]}`, () => expect(stopSignalToWire(name)).to.equal(want));
  }
});
