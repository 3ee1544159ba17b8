import { expect } from 'chai';
import { silentLogger } from '../common/logger';
import type { runtime } from './api/generated/cri';
import type { CriHandlers, StreamCallContext } from './handlers';
import { STREAM_PAGE_SIZE, streamListHandlers } from './stream-lists';

function collect<T>(): { call: StreamCallContext<T>; messages: T[] } {
  const messages: T[] = [];
  return { messages, call: { signal: new AbortController().signal, logger: silentLogger, write: async (m: T) => void messages.push(m) } };
}

describe('cri/stream-lists', () => {
  const pods = Array.from({ length: STREAM_PAGE_SIZE * 2 + 5 }, (_, i) => ({ id: `p${i}` }));
  let seenFilter: unknown;
  const base: CriHandlers = {
    ListPodSandbox: async (request) => {
      seenFilter = request.filter;
      return { items: pods };
    },
    ListImages: async () => ({ images: [] }),
  };

  it('pages the List answer and passes the filter through', async () => {
    const handlers = streamListHandlers(base);
    const { call, messages } = collect<runtime.v1.IStreamPodSandboxesResponse>();
    await handlers.StreamPodSandboxes!({ filter: { id: 'p' } }, call);
    expect(seenFilter).to.deep.equal({ id: 'p' });
    expect(messages.map((m) => m.podSandboxes?.length)).to.deep.equal([STREAM_PAGE_SIZE, STREAM_PAGE_SIZE, 5]);
    expect(messages.flatMap((m) => m.podSandboxes ?? [])).to.deep.equal(pods);
  });

  it('sends one empty page for an empty list', async () => {
    const { call, messages } = collect<runtime.v1.IStreamImagesResponse>();
    await streamListHandlers(base).StreamImages!({}, call);
    expect(messages).to.deep.equal([{ images: [] }]);
  });

  it('adds only streams whose List handler exists, and never replaces a registered one', () => {
    const own = async () => undefined;
    const handlers = streamListHandlers({ ...base, StreamImages: own });
    expect(Object.keys(handlers).sort()).to.deep.equal(['StreamPodSandboxes']);
  });
});
