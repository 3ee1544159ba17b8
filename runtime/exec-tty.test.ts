import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CONTAINER_RECORD_VERSION, type ContainerRecord } from './container-record';
import { ttyProcessSpec } from './exec-tty';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('runtime/exec-tty process spec', () => {
  let dir: string;
  tempDirEach('berth-exec-tty-unit-', async (d) => {
    dir = d;
    await fs.mkdir(path.join(dir, 'bundle'));
  });

  async function specFor(processSpec: Record<string, unknown>, cmd: string[]): Promise<Record<string, unknown>> {
    await fs.writeFile(path.join(dir, 'bundle', 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: processSpec }));
    const rec = { version: CONTAINER_RECORD_VERSION, id: 'c1', paths: { dir, bundle: path.join(dir, 'bundle'), rootfs: '' } } as Pick<ContainerRecord, 'version' | 'id' | 'paths'>;
    return ttyProcessSpec(rec as ContainerRecord, cmd);
  }

  it('takes the container`s process with the command, a terminal and TERM=xterm; drops oomScoreAdj and consoleSize', async () => {
    const spec = await specFor({ args: ['sleep', '1'], env: ['PATH=/bin'], cwd: '/w', user: { uid: 7, gid: 8 }, terminal: false, oomScoreAdj: 100, consoleSize: { height: 1, width: 1 } }, ['sh', '-i']);
    expect(spec).to.deep.equal({ args: ['sh', '-i'], env: ['PATH=/bin', 'TERM=xterm'], cwd: '/w', user: { uid: 7, gid: 8 }, terminal: true });
  });

  it('keeps a TERM the container already sets', async () => {
    const spec = await specFor({ args: ['x'], env: ['TERM=vt100'], cwd: '/', user: { uid: 0, gid: 0 } }, ['sh']);
    expect(spec.env).to.deep.equal(['TERM=vt100']);
  });
});
