import { expect } from 'chai';
import { desiredRuntimeClass, MANAGED_BY_LABEL, planSync } from './plan';

describe('daemon/runtimeclasses plan', () => {
  it('creates missing handlers once each, in name order', () => {
    const plan = planSync(['runc', 'crun', 'runc'], []);
    expect(plan.actions.map((a) => `${a.action} ${a.name}`)).to.deep.equal(['create crun', 'create runc']);
    expect(plan.actions[0]).to.deep.include({ object: desiredRuntimeClass('crun') });
    expect(desiredRuntimeClass('crun').metadata.labels).to.deep.equal({ [MANAGED_BY_LABEL]: 'berth' });
  });

  it('takes over a RuntimeClass labelled by another manager, saying which', () => {
    const plan = planSync(['runc'], [{ metadata: { name: 'runc', labels: { [MANAGED_BY_LABEL]: 'helm' }, resourceVersion: '7' }, handler: 'runc' }]);
    expect(plan.actions).to.have.length(1);
    const step = plan.actions[0];
    if (step.action !== 'update') throw new Error(`expected update, got ${step.action}`);
    expect(step.reason).to.equal(`label ${MANAGED_BY_LABEL} was "helm"`);
    expect(step.object.metadata).to.deep.equal({ name: 'runc', labels: { [MANAGED_BY_LABEL]: 'berth' }, resourceVersion: '7' });
  });

  it('ignores RuntimeClasses berth does not manage and lists its own unconfigured ones', () => {
    const plan = planSync(['runc'], [
      { metadata: { name: 'runc', labels: { [MANAGED_BY_LABEL]: 'berth' } }, handler: 'runc' },
      { metadata: { name: 'other' }, handler: 'other' },
      { metadata: { name: 'old', labels: { [MANAGED_BY_LABEL]: 'berth' } }, handler: 'old' },
    ]);
    expect(plan.actions).to.deep.equal([{ action: 'unchanged', name: 'runc' }]);
    expect(plan.notConfiguredHere).to.deep.equal([{ name: 'old', handler: 'old' }]);
  });
});
