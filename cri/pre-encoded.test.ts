import { expect } from 'chai';
import { runtime } from './api/generated/cri';
import { baseCodec, encodingOf, owned, preEncoded, withEncoding } from './pre-encoded';

describe('cri/pre-encoded', () => {
  const codec = preEncoded(runtime.v1.ImageStatusResponse);

  it('sends the attached encoding of a message as is, and encodes any other message', () => {
    const plain = { image: { id: 'sha256:a', repoTags: ['a:1'] } };
    expect(Buffer.from(codec.encode(plain).finish()).equals(Buffer.from(runtime.v1.ImageStatusResponse.encode(plain).finish()))).to.equal(true);
    const attached = new Uint8Array([10, 0]);
    const message = withEncoding({ image: { id: 'ignored' } }, attached);
    expect(codec.encode(message).finish()).to.equal(attached);
    expect(encodingOf(message)).to.equal(attached);
    expect(encodingOf(plain)).to.equal(undefined);
    expect(encodingOf(null)).to.equal(undefined);
  });

  it('decodes like the generated codec and names it as its base', () => {
    const bytes = runtime.v1.ImageStatusResponse.encode({ image: { id: 'sha256:b', size: 5 } }).finish();
    expect(codec.decode(bytes).image).to.include({ id: 'sha256:b', size: 5 });
    expect(baseCodec(codec)).to.equal(runtime.v1.ImageStatusResponse);
    expect(baseCodec(runtime.v1.VersionResponse)).to.equal(runtime.v1.VersionResponse);
  });

  it('owned copies a pool slice into memory of its own', () => {
    const slice = Buffer.from('status bytes');
    expect(slice.buffer.byteLength).to.be.greaterThan(slice.length); // a slice of the shared pool
    const own = owned(slice);
    expect(Buffer.from(own).equals(slice)).to.equal(true);
    expect([own.byteOffset, own.buffer.byteLength]).to.deep.equal([0, slice.length]);
  });
});
