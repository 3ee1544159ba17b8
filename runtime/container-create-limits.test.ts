import { expect } from 'chai';
import { InvalidArgumentError } from '../common/errors';
import { validateCreate } from './container-create';
import type { ContainerConfigInput } from './spec/inputs';
import { FakeSandboxes } from './testing/fake-sandboxes';

function config(extra: Partial<ContainerConfigInput> = {}): ContainerConfigInput {
  return {
    name: 'app', attempt: 0, image: 'busybox', command: [], args: [], workingDir: '', envs: [], mounts: [], devices: [],
    labels: {}, annotations: {}, logPath: '', stdin: false, stdinOnce: false, tty: false, security: {}, ...extra,
  } as ContainerConfigInput;
}

describe('runtime/container-create: label and annotation caps', () => {
  const sandboxes = new FakeSandboxes();
  const pod = sandboxes.add({ id: 'pod1' }, '/tmp');

  it('refuses an oversized annotation value, key or total, naming the field, before anything else', () => {
    const huge = `${'1'.repeat(300_000)}x`;
    expect(() => validateCreate(config({ annotations: { 'io.example/x': huge } }), pod, 'pod1')).to.throw(InvalidArgumentError, /^annotations\["io.example\/x"\]: value of 300001 bytes exceeds 262144 bytes/);
    const many: Record<string, string> = {};
    for (let i = 0; i < 5; i++) many[`k${i}`] = 'v'.repeat(60 * 1024);
    expect(() => validateCreate(config({ annotations: many }), pod, 'pod1')).to.throw(InvalidArgumentError, /^annotations: keys and values exceed/);
    expect(() => validateCreate(config({ labels: { ['l'.repeat(400)]: 'v' } }), pod, 'pod1')).to.throw(InvalidArgumentError, /^labels\["l+…"\]: key of 400 bytes exceeds 317 bytes/);
    // checked before the sandbox lookup: the size refusal wins over "not found"
    expect(() => validateCreate(config({ annotations: { a: huge } }), undefined, 'nope')).to.throw(InvalidArgumentError, /value of 300001 bytes/);
  });

  it('accepts what Kubernetes accepts', () => {
    expect(validateCreate(config({ labels: { 'io.kubernetes.pod.name': 'p'.repeat(253) }, annotations: { big: 'v'.repeat(250 * 1024) } }), pod, 'pod1')).to.equal(pod);
  });
});
