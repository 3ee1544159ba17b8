import { expect } from 'chai';
import { FailedPreconditionError } from '../common/errors';
import { silentLogger } from '../common/logger';
import { mergeHandlers, type CriHandlers } from './handlers';
import { runtimeInfoHandlers } from './runtime/info-handlers';
import { createCriServer } from './server';
import { criServerEach } from './testing/server-fixtures';

describe('cri/server: warm-up before listen', function () {
  this.timeout(20000);
  const srv = criServerEach('berth-warm-', 'berth.sock', 500);

  it('runs Version and Status through the handlers; no observer or trace sees them, later client calls are observed; refused once listening', async () => {
    let statusCalls = 0;
    const versionRequests: unknown[] = [];
    const info = runtimeInfoHandlers({
      runtimeVersion: '0.1.0-test',
      cgroupDriver: 'cgroupfs',
      status: { networkReady: () => (statusCalls++, { ready: true }), runtimeHandlers: () => [{ name: 'runc' }], verboseInfo: () => ({}) },
    });
    const countingVersion: CriHandlers = {
      Version: async (request, call) => {
        versionRequests.push(request.version);
        return info.Version!(request, call);
      },
    };
    const { Version: _unused, ...rest } = info;
    const observed: string[] = [];
    let traced = 0;
    const server = createCriServer({
      handlers: mergeHandlers(rest, countingVersion),
      logger: silentLogger,
      observer: { observe: (_s, method, code) => observed.push(`${method} ${code}`), beginCall: () => (traced++, undefined) },
    });
    expect(await server.warmUp(25)).to.equal(50);
    expect(versionRequests).to.have.length(25);
    expect(new Set(versionRequests)).to.deep.equal(new Set(['v1']));
    expect(statusCalls).to.equal(25);
    expect(observed).to.deep.equal([]);
    expect(traced).to.equal(0);

    const client = await srv.serve(server);
    expect((await client.version({ version: 'v1' })).runtimeName).to.equal('berth');
    expect(observed).to.deep.equal(['Version OK']);
    expect(traced).to.equal(1);
    let caught: unknown;
    await server.warmUp(1).catch((err: unknown) => (caught = err));
    expect(caught).to.be.instanceOf(FailedPreconditionError);
  });
});
