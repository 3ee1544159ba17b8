import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { runtime } from './api/generated/cri';
import { CRI_METHOD_NAMES, CRI_METHODS, mergeHandlers, serviceOf } from './handlers';
import { baseCodec } from './pre-encoded';

/** The .proto source (next to the compiled tree or in the working directory). */
function protoPath(): string {
  const candidates = [path.resolve(__dirname, '../../cri/api/cri.proto'), path.resolve(process.cwd(), 'cri/api/cri.proto')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`cri.proto not found in ${candidates.join(', ')}`);
  return found;
}

describe('cri/handlers method table', () => {
  const root = protobuf.loadSync(protoPath());

  for (const service of ['RuntimeService', 'ImageService'] as const) {
    it(`lists every ${service} RPC of cri.proto with its streaming flag and message types`, () => {
      const svc = root.lookupService(`runtime.v1.${service}`);
      const fromProto = Object.values(svc.methods).map((m) => [m.name, m.requestType, m.responseType, Boolean(m.responseStream)]);
      const fromTable = CRI_METHOD_NAMES.filter((n) => serviceOf(n) === service).map((n) => {
        const spec = CRI_METHODS[n];
        const reqName = Object.entries(runtime.v1).find(([, v]) => v === spec.request)?.[0];
        const resName = Object.entries(runtime.v1).find(([, v]) => v === baseCodec(spec.response))?.[0];
        return [n, reqName, resName, spec.serverStreaming];
      });
      expect(fromTable).to.deep.equal(fromProto);
    });
  }

  it('has 35 RuntimeService and 6 ImageService RPCs with disjoint names', () => {
    expect(CRI_METHOD_NAMES.filter((n) => serviceOf(n) === 'RuntimeService')).to.have.length(35);
    expect(CRI_METHOD_NAMES.filter((n) => serviceOf(n) === 'ImageService')).to.have.length(6);
    expect(new Set(CRI_METHOD_NAMES).size).to.equal(41);
  });

  it('round-trips a message through the generated codecs with int64 as numbers', () => {
    const spec = CRI_METHODS.ListContainers;
    const bytes = spec.response.encode({ containers: [{ id: 'c', createdAt: 1732520000000000000, labels: { a: 'b' } }] }).finish();
    const back = spec.response.decode(bytes);
    expect(back.containers?.[0]).to.include({ id: 'c', createdAt: 1732520000000000000 });
    expect(typeof back.containers?.[0].createdAt).to.equal('number');
  });
});

describe('cri/handlers mergeHandlers', () => {
  const version = async () => ({});
  it('merges disjoint maps', () => {
    const merged = mergeHandlers({ Version: version }, { PullImage: async () => ({ imageRef: 'x' }) }, {});
    expect(Object.keys(merged).sort()).to.deep.equal(['PullImage', 'Version']);
  });
  it('refuses the same RPC twice', () => {
    expect(() => mergeHandlers({ Version: version }, { Version: version })).to.throw(/Version registered twice/);
  });
  it('refuses an unknown RPC name', () => {
    expect(() => mergeHandlers({ Versio: version } as never)).to.throw(/unknown RPC Versio/);
  });
});
