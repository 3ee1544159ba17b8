/**
 * E2E: with `[streaming] tls_cert/tls_key` berthd's streaming server speaks HTTPS: the URLs the
 * streaming RPCs return are https, the certificate is the configured one, and an unknown token
 * still gets 404.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { makeTestCertificates } from './support/registry';

describe('e2e: berthd streaming over TLS', function () {
  this.timeout(60_000);
  let work: string;
  let berthd: BerthdInstance | undefined;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-stream-tls-'));
  });
  after(async () => {
    await berthd?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('returns https URLs served with the configured certificate', async () => {
    const certs = await makeTestCertificates(work);
    berthd = await startBerthd({ configToml: `[streaming]\ntls_cert = "${certs.certFile}"\ntls_key = "${certs.keyFile}"\n` });
    const client = berthd.client();
    const pod = { metadata: { name: 'tls', namespace: 'e2e', uid: 'uid-tls', attempt: 0 }, linux: {} };
    const { podSandboxId } = await client.runPodSandbox({ config: pod });
    const { url } = await client.portForward({ podSandboxId, port: [80] });
    expect(url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/portforward\/[A-Za-z0-9_-]+$/);
    const bogus = new URL('/exec/not-a-token', url ?? '').toString();
    const status = await new Promise<number>((resolve, reject) => {
      https.get(bogus, { ca: fs.readFileSync(certs.caFile) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).to.equal(404);
  });
});
