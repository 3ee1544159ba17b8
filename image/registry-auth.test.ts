import { expect } from 'chai';
import { InvalidArgumentError } from '../common/errors';
import { basicCredentials, buildTokenRequest, parseTokenResponse, parseWwwAuthenticate } from './registry-auth';

describe('image/registry-auth', () => {
  it('parses Bearer challenges with quoted, escaped and comma-containing values', () => {
    const c = parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"');
    expect(c).to.deep.equal([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull,push' },
      },
    ]);
    expect(parseWwwAuthenticate('Basic realm="a \\"b\\""')).to.deep.equal([{ scheme: 'basic', params: { realm: 'a "b"' } }]);
    const two = parseWwwAuthenticate('Basic realm=x, Bearer realm="y", service=z');
    expect(two.map((t) => t.scheme)).to.deep.equal(['basic', 'bearer']);
    expect(two[1]!.params).to.deep.equal({ realm: 'y', service: 'z' });
  });

  it('decodes AuthConfig.auth and prefers username', () => {
    expect(basicCredentials({ auth: Buffer.from('u:p:w').toString('base64') })).to.deep.equal({ username: 'u', password: 'p:w' });
    expect(basicCredentials({ username: 'a', password: 'b', auth: 'ignored' })).to.deep.equal({ username: 'a', password: 'b' });
    expect(basicCredentials({})).to.equal(undefined);
    expect(() => basicCredentials({ auth: Buffer.from('nocolon').toString('base64') })).to.throw(InvalidArgumentError);
  });

  it('builds token requests: GET with Basic, POST refresh_token for identity tokens', () => {
    const ch = { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg' } };
    const get = buildTokenRequest(ch, 'repository:a/b:pull', { username: 'u', password: 'p' });
    expect(get.method).to.equal('GET');
    expect(get.url.searchParams.get('service')).to.equal('reg');
    expect(get.url.searchParams.getAll('scope')).to.deep.equal(['repository:a/b:pull']);
    expect(get.headers['authorization']).to.equal('Basic ' + Buffer.from('u:p').toString('base64'));
    const post = buildTokenRequest(ch, 'repository:a/b:pull', { identityToken: 'rt' });
    expect(post.method).to.equal('POST');
    const form = new URLSearchParams(post.body);
    expect(form.get('grant_type')).to.equal('refresh_token');
    expect(form.get('refresh_token')).to.equal('rt');
    expect(() => buildTokenRequest({ scheme: 'bearer', params: {} }, 's', undefined)).to.throw(InvalidArgumentError, /realm/);
  });

  it('reads token or access_token', () => {
    expect(parseTokenResponse(Buffer.from('{"token":"t1"}'))).to.equal('t1');
    expect(parseTokenResponse(Buffer.from('{"access_token":"t2"}'))).to.equal('t2');
    expect(() => parseTokenResponse(Buffer.from('{}'))).to.throw(InvalidArgumentError);
  });
});
