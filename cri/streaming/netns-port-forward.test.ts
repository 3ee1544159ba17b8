import { expect } from 'chai';
import * as net from 'node:net';
import { FailedPreconditionError, NotFoundError, UnavailableError } from '../../common/errors';
import { NetnsPortForwardBackend, staticNetnsLookup, type NetnsConnector } from './netns-port-forward';

function errnoError(code: string): Error {
  return Object.assign(new Error(`connectInNetns: ${code}`), { code });
}

describe('streaming/NetnsPortForwardBackend', () => {
  const calls: Array<[string, string, number]> = [];
  const failing = (code: string): NetnsConnector => ({
    connectInNetns: async (p, h, port) => {
      calls.push([p, h, port]);
      throw errnoError(code);
    },
  });
  const pods = staticNetnsLookup({ p1: '/run/berth/ns/net/p1', hostpod: null });

  it('connects on 127.0.0.1 inside the pod netns and maps a refusal to Unavailable', async () => {
    calls.length = 0;
    const b = new NetnsPortForwardBackend(pods, failing('ECONNREFUSED'));
    const err = await b.connect('p1', 8080, new AbortController().signal).catch((e: unknown) => e);
    expect(calls).to.deep.equal([['/run/berth/ns/net/p1', '127.0.0.1', 8080]]);
    expect(err).to.be.instanceOf(UnavailableError);
    expect((err as Error).message).to.equal('connect to port 8080 in pod p1');
  });

  it('maps a vanished namespace to FailedPrecondition and an unknown pod to NotFound', async () => {
    const b = new NetnsPortForwardBackend(pods, failing('ENOENT'));
    expect(await b.connect('p1', 80, new AbortController().signal).catch((e: unknown) => e)).to.be.instanceOf(FailedPreconditionError);
    expect(await b.connect('nope', 80, new AbortController().signal).catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
  });

  it('uses the host loopback for a host-network pod', async () => {
    const server = net.createServer((s) => s.end('host'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const b = new NetnsPortForwardBackend(pods, failing('EPERM'));
    const socket = await b.connect('hostpod', (server.address() as net.AddressInfo).port, new AbortController().signal);
    const text = await new Promise<string>((resolve) => {
      let t = '';
      socket.on('data', (c: Buffer) => (t += c.toString())).on('end', () => resolve(t));
    });
    expect(text).to.equal('host');
    socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
