import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { parseReference } from './reference';
import { loadRegistriesConfig, parseRegistriesConfig, pullEndpoints, searchRegistries } from './registries-config';
import { SAMPLE_REGISTRIES_CONF } from './testing/registries-fixtures';

describe('image/registries-config', () => {
  const conf = parseRegistriesConfig(SAMPLE_REGISTRIES_CONF);

  it('reads search registries', () => {
    expect(searchRegistries(conf)).to.deep.equal(['quay.io', 'docker.io']);
    expect(searchRegistries(parseRegistriesConfig(''))).to.deep.equal(['docker.io']);
  });

  it('tries mirrors in order before the registry and keeps insecure per endpoint', () => {
    const eps = pullEndpoints(conf, parseReference('registry.k8s.io/pause:3.9'));
    expect(eps).to.deep.equal([
      { host: 'localhost:5000', repository: 'pause', insecure: true, mirror: true },
      { host: 'mirror.example.com', repository: 'k8s/pause', insecure: false, mirror: true },
      { host: 'registry.k8s.io', repository: 'pause', insecure: false, mirror: false },
    ]);
    const byDigest = pullEndpoints(conf, parseReference('registry.k8s.io/pause@sha256:' + 'a'.repeat(64)));
    expect(byDigest.map((e) => e.host)).to.deep.equal(['localhost:5000', 'mirror.example.com', 'digests.example.com', 'registry.k8s.io']);
  });

  it('rewrites a prefix to its location (longest prefix wins)', () => {
    expect(pullEndpoints(conf, parseReference('example.com/team/app:1'))).to.deep.equal([
      { host: 'internal.example.com:8443', repository: 'team-mirror/app', insecure: true, mirror: false },
    ]);
    expect(pullEndpoints(conf, parseReference('example.com/other/app'))).to.deep.equal([
      { host: 'example.com', repository: 'other/app', insecure: false, mirror: false },
    ]);
  });

  it('matches wildcard prefixes and refuses blocked registries', () => {
    expect(pullEndpoints(conf, parseReference('reg.corp.example/x'))[0]).to.deep.include({ host: 'reg.corp.example', insecure: true });
    expect(() => pullEndpoints(conf, parseReference('evil.example.org/x'))).to.throw(FailedPreconditionError, /blocked/);
  });

  it('maps docker.io to registry-1.docker.io and keeps library/ on mirrors', () => {
    expect(pullEndpoints(conf, parseReference('busybox'))).to.deep.equal([
      { host: 'hub-cache.local', repository: 'library/busybox', insecure: false, mirror: true },
      { host: 'registry-1.docker.io', repository: 'library/busybox', insecure: false, mirror: false },
    ]);
  });

  it('rejects malformed files with the key named', () => {
    expect(() => parseRegistriesConfig('[[registry]]\ninsecure = "yes"\nlocation="a"')).to.throw(InvalidArgumentError, /registry\[0\]\.insecure/);
    expect(() => parseRegistriesConfig('[[registry]]\ninsecure = true')).to.throw(InvalidArgumentError, /prefix or a location/);
    expect(() => parseRegistriesConfig('[registries.search]\nregistries = ["a"]')).to.throw(InvalidArgumentError, /v1 format/);
    expect(() => parseRegistriesConfig('not = = toml')).to.throw(InvalidArgumentError, /parse/);
    expect(() => parseRegistriesConfig('unqualified-search-registries = ["a b"]')).to.throw(InvalidArgumentError, /unqualified-search-registries\[0\]/);
    expect(() => parseRegistriesConfig('[[registry]]\nlocation = "/x"')).to.throw(InvalidArgumentError, /registry\[0\]\.location/);
    expect(() => parseRegistriesConfig('[[registry]]\nlocation = "a.io"\n[[registry.mirror]]\nlocation = "bad host"')).to.throw(
      InvalidArgumentError,
      /registry\[0\]\.mirror\[0\]\.location/,
    );
  });

  it('trims long runs of trailing slashes in linear time', () => {
    const started = Date.now();
    const conf = parseRegistriesConfig(`[[registry]]\nlocation = "a.io${'/'.repeat(200_000)}"\n[[registry.mirror]]\nlocation = "m.io/p${'/'.repeat(200_000)}"`);
    expect(Date.now() - started).to.be.lessThan(1000);
    expect(conf.registries[0]!.location).to.equal('a.io');
    expect(conf.registries[0]!.mirrors[0]!.location).to.equal('m.io/p');
  });

  it('treats a missing file as empty', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-regconf-'));
    try {
      expect((await loadRegistriesConfig(path.join(dir, 'none.conf'))).registries).to.deep.equal([]);
      await fs.writeFile(path.join(dir, 'r.conf'), 'unqualified-search-registries = ["a.io"]');
      expect((await loadRegistriesConfig(path.join(dir, 'r.conf'))).unqualifiedSearchRegistries).to.deep.equal(['a.io']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
