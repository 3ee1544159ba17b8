import { expect } from 'chai';
import { InvalidArgumentError } from '../common/errors';
import { formatReference, parseReference, withDomain } from './reference';

describe('image/reference', () => {
  const D = 'sha256:' + 'ab'.repeat(32);
  const cases: Array<[string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['user/app', 'docker.io/user/app:latest'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b/c:v1', 'localhost:5000/a/b/c:v1'],
    ['127.0.0.1:5000/busybox', '127.0.0.1:5000/busybox:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`quay.io/x/y:tag@${D}`, `quay.io/x/y:tag@${D}`],
    ['a_b-c__d/e.f:TAG_1.x', 'docker.io/a_b-c__d/e.f:TAG_1.x'],
  ];
  for (const [input, want] of cases) {
    it(`normalises ${input}`, () => {
      expect(formatReference(parseReference(input))).to.equal(want);
    });
  }

  it('marks short names and moves them to another registry', () => {
    const r = parseReference('busybox');
    expect(r.shortName).to.equal(true);
    expect(parseReference('quay.io/busybox').shortName).to.equal(false);
    expect(formatReference(withDomain(r, 'quay.io'))).to.equal('quay.io/busybox:latest');
    expect(formatReference(withDomain(parseReference('team/app'), 'quay.io'))).to.equal('quay.io/team/app:latest');
  });

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['busybox:', /bad tag/],
    ['busybox:-x', /bad tag/],
    ['busybox@sha256:abc', /bad digest/],
    ['a//b', /bad repository/],
    ['-a/b', /bad repository/],
    ['host_x:5000/app', /bad/],
    ['ex ample/app', /bad/],
  ];
  for (const [input, why] of bad) {
    it(`refuses ${JSON.stringify(input)} with INVALID_ARGUMENT naming the field`, () => {
      expect(() => parseReference(input, 'image.image'))
        .to.throw(InvalidArgumentError, /^image\.image: /)
        .with.property('message')
        .that.matches(why);
    });
  }
});
