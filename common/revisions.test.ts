import { expect } from 'chai';
import { Revisions } from './revisions';

describe('common/Revisions', () => {
  it('gives every write a new number per key, 0 to a key never written, and counts writes and deletes', () => {
    const r = new Revisions();
    expect(r.of('a')).to.equal(0);
    r.written('a');
    const first = r.of('a');
    r.written('b');
    expect(r.of('a')).to.equal(first);
    r.written('a');
    expect(r.of('a')).to.not.equal(first);
    expect(r.of('a')).to.not.equal(r.of('b'));
    const before = r.count();
    r.deleted('b');
    expect(r.of('b')).to.equal(0);
    expect(r.count()).to.not.equal(before);
  });
});
