import { expect } from 'chai';
import { featuresByHandler, handlerFeatures, kernelAtLeast, parseRuntimeVersion, runtimeSupportsRro } from './handler-features';

describe('runtime/handler-features', () => {
  it('reads the name and version of runc and crun', () => {
    expect(parseRuntimeVersion('runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1\nspec: 1.0.2-dev\n')).to.deep.equal({ name: 'runc', major: 1, minor: 1 });
    expect(parseRuntimeVersion('crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\n')).to.deep.equal({ name: 'crun', major: 1, minor: 8 });
    expect(parseRuntimeVersion('garbage')).to.equal(undefined);
  });

  const rro: Array<[string | undefined, boolean]> = [
    ['runc version 1.1.5', true],
    ['runc version 1.0.3', false],
    ['runc version 1.2.0', true],
    ['crun version 1.8.1', true],
    ['crun version 1.3', false],
    ['youki version 0.3.0', false],
    ['', false],
    [undefined, false],
  ];
  for (const [text, want] of rro) {
    it(`rro for ${JSON.stringify(text)}: ${want}`, () => expect(runtimeSupportsRro(text)).to.equal(want));
  }

  it('needs Linux 5.12 for recursive read-only mounts', () => {
    expect(kernelAtLeast('6.18.0-1-amd64', 5, 12)).to.equal(true);
    expect(kernelAtLeast('5.11.22', 5, 12)).to.equal(false);
    expect(handlerFeatures('runc version 1.1.5', '5.10.0')).to.deep.equal({ recursiveReadOnlyMounts: false, userNamespaces: false });
    expect(handlerFeatures('runc version 1.1.5', '6.1.0')).to.deep.equal({ recursiveReadOnlyMounts: true, userNamespaces: false });
  });

  it('lists every handler, the default one also under the empty name, with a fallback for the undetected', () => {
    const yes = { recursiveReadOnlyMounts: true, userNamespaces: false };
    const no = { recursiveReadOnlyMounts: false, userNamespaces: false };
    expect(featuresByHandler(['runc', 'crun'], 'crun', { runc: yes }, no)).to.deep.equal({ runc: yes, crun: no, '': no });
  });

  it('offers user namespaces only with working idmapped mounts and a runc that joins a pinned namespace (1.1+)', () => {
    expect(handlerFeatures('runc version 1.1.5', '6.18.0', true).userNamespaces).to.equal(true);
    expect(handlerFeatures('runc version 1.1.5', '6.18.0', false).userNamespaces, 'probe failed').to.equal(false);
    expect(handlerFeatures('runc version 1.0.3', '6.18.0', true).userNamespaces, 'old runc').to.equal(false);
    expect(handlerFeatures('crun version 1.8', '6.18.0', true).userNamespaces, 'crun: not checked').to.equal(false);
    expect(handlerFeatures(undefined, '6.18.0', true).userNamespaces, 'no answer').to.equal(false);
  });
});
