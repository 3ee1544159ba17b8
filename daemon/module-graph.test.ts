import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** Packages a freshly started daemon has no use for until a feature needs them (each costs heap and code space). */
const LAZY_PACKAGES = [
  // The CRI server speaks HTTP/2 and gRPC itself (cri/transport/); grpc-js is for clients (tests, bench, OTLP).
  '@grpc/grpc-js',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-trace-otlp-grpc',
  '@opentelemetry/resources',
  '@kubernetes/client-node',
  'ws',
  'js-yaml',
];

/** The node_modules packages in require.cache after requiring `entries` in a fresh process. */
function packagesLoadedBy(entries: string[]): string[] {
  const script = `
    for (const e of ${JSON.stringify(entries)}) require(e);
    const names = new Set();
    for (const file of Object.keys(require.cache)) {
      const at = file.lastIndexOf('node_modules/');
      if (at < 0) continue;
      const parts = file.slice(at + 'node_modules/'.length).split('/');
      names.add(parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]);
    }
    process.stdout.write(JSON.stringify([...names]));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
}

describe('daemon module graph', function () {
  this.timeout(20000);
  const dist = path.resolve(__dirname, '..');

  it('loading berthd (daemon/main and the layers it wires, tracing off) loads no grpc-js, OpenTelemetry SDK, ws, js-yaml or kubernetes client', () => {
    const loaded = packagesLoadedBy([path.join(dist, 'daemon', 'main.js'), path.join(dist, 'daemon', 'layers.js'), path.join(dist, 'daemon', 'wiring.js')]);
    expect(loaded, 'sanity: the graph was loaded').to.include('protobufjs');
    expect(loaded.filter((p) => LAZY_PACKAGES.includes(p))).to.deep.equal([]);
  });
});
