import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ImageAccounts } from './image-accounts';

describe('runtime/image-accounts', () => {
  let dir: string;
  const rootfs = (name: string, passwd: string, group: string): string => {
    const root = path.join(dir, name);
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/passwd'), passwd);
    fs.writeFileSync(path.join(root, 'etc/group'), group);
    return root;
  };
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-accounts-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads an image`s passwd and group once and resolves every request against them', async () => {
    const first = rootfs('c1', 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www:/var/www:/bin/false\n', 'root:x:0:\nwww-data:x:33:\nstaff:x:50:www-data\n');
    const accounts = new ImageAccounts();
    expect(await accounts.resolve('sha256:a', first, { imageUser: 'www-data' })).to.deep.include({ uid: 33, gid: 33, additionalGids: [50] });
    // A second container of the same image: its rootfs is not read again (here: it is not even there).
    fs.rmSync(first, { recursive: true });
    expect(await accounts.resolve('sha256:a', path.join(dir, 'gone'), { runAsUser: 0 })).to.deep.include({ uid: 0, gid: 0 });
    expect(await accounts.resolve('sha256:a', path.join(dir, 'gone'), { imageUser: 'www-data' })).to.deep.include({ uid: 33 });
    // Another image is read from its own rootfs.
    const other = rootfs('c2', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n', 'root:x:0:\napp:x:1000:\n');
    expect(await accounts.resolve('sha256:b', other, { imageUser: 'app' })).to.deep.include({ uid: 1000, gid: 1000 });
    expect(accounts.size).to.equal(2);
  });

  it('does not remember a failed read', async () => {
    const accounts = new ImageAccounts();
    const looping = path.join(dir, 'looping');
    fs.mkdirSync(looping);
    fs.symlinkSync('etc', path.join(looping, 'etc')); // etc -> etc: the in-root lookup gives up
    let caught: unknown;
    await accounts.resolve('img', looping, {}).catch((e: unknown) => (caught = e));
    expect(String(caught)).to.match(/too many symlinks/);
    expect(accounts.size).to.equal(0);
    const fixed = rootfs('fixed', 'root:x:0:0::/:/bin/sh\n', 'root:x:0:\n');
    expect(await accounts.resolve('img', fixed, {})).to.deep.include({ uid: 0 });
  });

  it('keeps only the most recently used images', async () => {
    const accounts = new ImageAccounts(2);
    const a = rootfs('a', 'root:x:0:0::/:/bin/sh\n', 'root:x:0:\n');
    await accounts.resolve('img-a', a, {});
    await accounts.resolve('img-b', a, {});
    await accounts.resolve('img-a', a, {}); // a is now the most recent
    await accounts.resolve('img-c', a, {}); // b goes
    expect(accounts.size).to.equal(2);
    fs.rmSync(a, { recursive: true });
    expect(await accounts.resolve('img-a', a, { imageUser: 'root' })).to.deep.include({ uid: 0 });
    expect(await accounts.resolve('img-c', a, { imageUser: 'root' })).to.deep.include({ uid: 0 });
    // b is read again, from a rootfs that is gone now: no user "root" there.
    let caught: unknown;
    await accounts.resolve('img-b', a, { imageUser: 'root' }).catch((e: unknown) => (caught = e));
    expect(String(caught)).to.match(/user "root" not found/);
  });
});
