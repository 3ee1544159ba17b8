import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { apiError, defaultKubeconfigExists } from './kube-api';

describe('daemon/runtimeclasses kube-api', () => {
  let home: string;
  beforeEach(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-kubeconfig-test-'))));
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('finds $KUBECONFIG (any listed file) or ~/.kube/config, and nothing in an empty home', () => {
    expect(defaultKubeconfigExists({ HOME: home })).to.equal(false);
    expect(defaultKubeconfigExists({ HOME: home, KUBECONFIG: path.join(home, 'absent') })).to.equal(false);
    fs.writeFileSync(path.join(home, 'kc'), '');
    expect(defaultKubeconfigExists({ HOME: home, KUBECONFIG: `${path.join(home, 'absent')}${path.delimiter}${path.join(home, 'kc')}` })).to.equal(true);
    fs.mkdirSync(path.join(home, '.kube'));
    fs.writeFileSync(path.join(home, '.kube', 'config'), '');
    expect(defaultKubeconfigExists({ HOME: home })).to.equal(true);
  });

  it('maps apiserver answers to typed errors with the Status reason and message', () => {
    const forbidden = apiError('list RuntimeClasses', 'https://k:6443', 403, '{"kind":"Status","reason":"Forbidden","message":"no"}');
    expect(forbidden.kind).to.equal('FailedPrecondition');
    expect(forbidden.message).to.match(/^list RuntimeClasses at https:\/\/k:6443: HTTP 403 Forbidden: no \(/);
    expect(apiError('x', 's', 404, undefined).kind).to.equal('NotFound');
    expect(apiError('x', 's', 503, 'Service Unavailable').message).to.equal('x at s: HTTP 503: Service Unavailable');
    expect(apiError('x', 's', 503, undefined).kind).to.equal('Unavailable');
    expect(apiError('x', 's', 422, { reason: 'Invalid', message: 'handler: immutable' }).kind).to.equal('Internal');
  });
});
