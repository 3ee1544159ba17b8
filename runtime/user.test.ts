import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../common/errors';
import {
  MAX_ACCOUNTS_FILE_BYTES,
  parseGroup,
  parsePasswd,
  readAccounts,
  readFileInRoot,
  readRegularFileNoFollow,
  resolveInRoot,
  resolveUser,
  resolveUserFrom,
  type UserRequest,
} from './user';
import { rejection } from '../common/testing/rejection-fixtures';

const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin', 'alice:x:1000:1000::/home/alice:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', 'broken line', ''].join('\n');
const GROUP = ['root:x:0:', 'wheel:x:10:alice,root', 'www-data:x:33:', 'alice:x:1000:', 'audio:x:29:alice', 'staff:x:50:', 'garbage'].join('\n');

describe('runtime/user resolveUserFrom', () => {
  const passwd = parsePasswd(PASSWD);
  const groups = parseGroup(GROUP);
  const rows: Array<{ name: string; req: UserRequest; want: { uid: number; gid: number; additionalGids: number[] } }> = [
    { name: 'no USER → root with root groups', req: {}, want: { uid: 0, gid: 0, additionalGids: [10] } },
    { name: 'USER name', req: { imageUser: 'www-data' }, want: { uid: 33, gid: 33, additionalGids: [] } },
    { name: 'USER uid', req: { imageUser: '1000' }, want: { uid: 1000, gid: 1000, additionalGids: [10, 29] } },
    { name: 'USER uid:gid', req: { imageUser: '1000:50' }, want: { uid: 1000, gid: 50, additionalGids: [10, 29] } },
    { name: 'USER name:group', req: { imageUser: 'alice:staff' }, want: { uid: 1000, gid: 50, additionalGids: [10, 29] } },
    { name: 'USER unknown uid → gid 0', req: { imageUser: '4242' }, want: { uid: 4242, gid: 0, additionalGids: [] } },
    { name: 'run_as_user wins over the image USER', req: { imageUser: 'www-data', runAsUser: 1000 }, want: { uid: 1000, gid: 1000, additionalGids: [10, 29] } },
    { name: 'run_as_username', req: { runAsUsername: 'www-data' }, want: { uid: 33, gid: 33, additionalGids: [] } },
    { name: 'run_as_group overrides the gid', req: { runAsUser: 1000, runAsGroup: 5 }, want: { uid: 1000, gid: 5, additionalGids: [10, 29] } },
    { name: 'supplemental groups merge', req: { runAsUser: 1000, supplementalGroups: [77, 10] }, want: { uid: 1000, gid: 1000, additionalGids: [10, 29, 77] } },
    { name: 'supplemental groups Strict ignores /etc/group', req: { runAsUser: 1000, supplementalGroups: [77], supplementalGroupsPolicy: 'Strict' }, want: { uid: 1000, gid: 1000, additionalGids: [77] } },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const got = resolveUserFrom(row.req, passwd, groups);
      expect({ uid: got.uid, gid: got.gid, additionalGids: got.additionalGids }).to.deep.equal(row.want);
    });
  }
  it('refuses unknown names with NotFoundError naming them', () => {
    expect(() => resolveUserFrom({ imageUser: 'mallory' }, passwd, groups)).to.throw(NotFoundError, /mallory/);
    expect(() => resolveUserFrom({ imageUser: 'alice:nogroup' }, passwd, groups)).to.throw(NotFoundError, /nogroup/);
    expect(() => resolveUserFrom({ runAsUsername: 'bob' }, passwd, groups)).to.throw(NotFoundError, /bob/);
  });
  it('carries the home directory', () => {
    expect(resolveUserFrom({ imageUser: 'alice' }, passwd, groups).home).to.equal('/home/alice');
  });
});

describe('runtime/user rootfs reading', () => {
  let root: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'berth-user-root-'));
    outside = mkdtempSync(path.join(tmpdir(), 'berth-user-out-'));
    mkdirSync(path.join(root, 'etc'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('reads the rootfs files', async () => {
    writeFileSync(path.join(root, 'etc/passwd'), PASSWD);
    writeFileSync(path.join(root, 'etc/group'), GROUP);
    const u = await resolveUser(root, { imageUser: 'www-data' });
    expect(u).to.include({ uid: 33, gid: 33 });
  });

  it('does not follow an absolute symlink out to a host file', async () => {
    // A malicious image links its passwd to an absolute host path holding a uid-0 "eve".
    writeFileSync(path.join(outside, 'passwd'), 'eve:x:0:0::/:/bin/sh\n');
    symlinkSync(path.join(outside, 'passwd'), path.join(root, 'etc/passwd'));
    expect(await readFileInRoot(root, '/etc/passwd')).to.equal(undefined);
    const caught = await rejection(resolveUser(root, { imageUser: 'eve' }));
    expect(caught).to.be.instanceOf(NotFoundError);
  });

  it('refuses a symlink loop (/etc/passwd -> /etc/passwd) instead of reading the host file', async () => {
    symlinkSync('/etc/passwd', path.join(root, 'etc/passwd'));
    const caught = await rejection(readFileInRoot(root, '/etc/passwd'));
    expect(caught).to.be.instanceOf(InvalidArgumentError);
    expect((caught as Error).message).to.contain('too many symlinks');
  });

  it('treats an absolute symlink target as relative to the root', async () => {
    mkdirSync(path.join(root, 'data'));
    writeFileSync(path.join(root, 'data/passwd'), 'eve:x:4000:4000::/home/eve:/bin/sh\n');
    writeFileSync(path.join(outside, 'passwd'), 'eve:x:1:1::/:/bin/sh\n');
    symlinkSync('/data/passwd', path.join(root, 'etc/passwd'));
    expect((await resolveUser(root, { imageUser: 'eve' })).uid).to.equal(4000);
  });

  it('stops `..` at the root', async () => {
    writeFileSync(path.join(outside, 'passwd'), 'eve:x:1:1::/:/bin/sh\n');
    // ../../../../<outside>/passwd would escape if `..` could climb out of the root.
    const rel = path.relative(path.join(root, 'etc'), path.join(outside, 'passwd'));
    symlinkSync(rel, path.join(root, 'etc/passwd'));
    // Climbing stops at the root, where <outside>'s name does not exist.
    expect(await resolveInRoot(root, '/etc/passwd')).to.equal(undefined);
    expect(await readFileInRoot(root, '/etc/passwd')).to.equal(undefined);
  });

  it('resolves a symlinked directory inside the root', async () => {
    mkdirSync(path.join(root, 'real'));
    writeFileSync(path.join(root, 'real/group'), 'g:x:9:\n');
    rmSync(path.join(root, 'etc'), { recursive: true });
    symlinkSync('real', path.join(root, 'etc'));
    expect(await readFileInRoot(root, '/etc/group')).to.equal('g:x:9:\n');
  });

  it('a missing passwd: numeric users still work, names do not', async () => {
    expect((await resolveUser(root, { runAsUser: 1000 })).uid).to.equal(1000);
    const caught = await rejection(resolveUser(root, { runAsUsername: 'alice' }));
    expect(caught).to.be.instanceOf(NotFoundError);
  });

  it('refuses a 100 MiB (sparse) /etc/passwd quickly instead of reading it', async () => {
    const file = path.join(root, 'etc/passwd');
    writeFileSync(file, 'root:x:0:0:root:/root:/bin/sh\n');
    truncateSync(file, 100 * 1024 * 1024);
    const started = Date.now();
    const err = await rejection(readAccounts(root));
    expect(Date.now() - started).to.be.below(200);
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect((err as Error).message).to.contain('/etc/passwd').and.contain(String(MAX_ACCOUNTS_FILE_BYTES)).and.contain('104857600');
  });

  it('reads a passwd of exactly the size limit', async () => {
    const line = 'root:x:0:0:root:/root:/bin/sh\n';
    writeFileSync(path.join(root, 'etc/passwd'), line + '#'.repeat(MAX_ACCOUNTS_FILE_BYTES - line.length - 1) + '\n');
    expect((await readAccounts(root)).passwd.map((p) => p.name)).to.deep.equal(['root']);
  });

  it('skips lines over the line limit', () => {
    const long = `big:x:7:7:${'g'.repeat(100_000)}:/:/bin/sh`;
    expect(parsePasswd(`${long}\nok:x:8:8::/:/bin/sh\n`).map((p) => p.name)).to.deep.equal(['ok']);
    expect(parseGroup(`huge:x:9:${'m,'.repeat(50_000)}\nok:x:10:a\n`).map((g) => g.name)).to.deep.equal(['ok']);
  });

  it('does not read a host file through a symlink whose target climbs out past a missing directory', async () => {
    writeFileSync(path.join(outside, 'passwd'), 'eve:x:0:0::/:/bin/sh\n');
    rmSync(path.join(root, 'etc'), { recursive: true });
    // etc -> missing/../../(…)/<outside>: resolving `..` after the missing component would leave the root.
    symlinkSync(`missing/${'../'.repeat(40)}${outside.slice(1)}`, path.join(root, 'etc'));
    expect(await resolveInRoot(root, '/etc/passwd')).to.equal(undefined);
    expect(await readFileInRoot(root, '/etc/passwd')).to.equal(undefined);
    expect(await rejection(resolveUser(root, { imageUser: 'eve' }))).to.be.instanceOf(NotFoundError);
  });

  it('opens the resolved file with O_NOFOLLOW and only inside the root', async () => {
    writeFileSync(path.join(outside, 'shadow'), 'root:secret:::::::\n');
    // A passwd swapped for a symlink after the in-root walk (the walk would have resolved it).
    symlinkSync(path.join(outside, 'shadow'), path.join(root, 'etc/passwd'));
    expect(await readRegularFileNoFollow(root, path.join(root, 'etc/passwd'), '/etc/passwd')).to.equal(undefined);
    // A parent directory swapped for a symlink: the fd's real path is outside the root.
    rmSync(path.join(root, 'etc'), { recursive: true });
    symlinkSync(outside, path.join(root, 'etc'));
    expect(await readRegularFileNoFollow(root, path.join(root, 'etc/shadow'), '/etc/shadow')).to.equal(undefined);
    writeFileSync(path.join(outside, 'group'), 'g:x:1:\n');
    mkdirSync(path.join(root, 'real'));
    writeFileSync(path.join(root, 'real/group'), 'g:x:2:\n');
    expect(String(await readRegularFileNoFollow(root, path.join(root, 'real/group'), '/real/group'))).to.equal('g:x:2:\n');
  });
});
