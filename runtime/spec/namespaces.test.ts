import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { buildContainerSpec } from './build-spec';
import { containerNamespaces } from './namespaces';
import { specInput } from '../testing/spec-fixtures';

describe('runtime/spec/namespaces: pid mode POD', () => {
  const sandbox = specInput().sandbox;

  it('joins the pod pid namespace pinned by pause', () => {
    const ns = containerNamespaces({ sandbox: { ...sandbox, namespacePaths: { ...sandbox.namespacePaths, pid: '/run/berth/ns/pid/pod1' } }, pidMode: 'POD', cgroupVersion: 1 });
    expect(ns).to.deep.include({ type: 'pid', path: '/run/berth/ns/pid/pod1' });
  });

  it("is refused, naming the field, in a pod without a pid namespace of its own (never the host's)", () => {
    expect(sandbox.namespacePaths.pid).to.equal(undefined);
    expect(() => containerNamespaces({ sandbox, pidMode: 'POD', cgroupVersion: 1 }))
      .to.throw(InvalidArgumentError)
      .with.property('message')
      .that.matches(/^linux\.security_context\.namespace_options\.pid: POD, but pod sandbox pod1 has no pid namespace of its own/);
    // Through the whole builder too: no spec without a pid entry comes out.
    expect(() => buildContainerSpec(specInput((i) => (i.config.security.pidMode = 'POD')))).to.throw(InvalidArgumentError, /namespace_options\.pid/);
  });

  it('NODE stays an explicit request for the host pid namespace; CONTAINER gets a new one', () => {
    expect(containerNamespaces({ sandbox, pidMode: 'NODE', cgroupVersion: 1 }).map((n) => n.type)).to.not.include('pid');
    expect(containerNamespaces({ sandbox, pidMode: 'CONTAINER', cgroupVersion: 1 })).to.deep.include({ type: 'pid' });
  });
});
