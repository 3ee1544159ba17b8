/**
 * scripts/install-deps.sh against fake apt-get, dpkg-query, node and kubectl on PATH (a copy of
 * the script in a temp tree, so nothing is installed): it installs kubectl from Debian's
 * kubernetes-client, prometheus (promtool) and Go with grpc-go's sources when missing, and never
 * apt-installs a Node: with no Node, or Debian's Node 18, it stops before installing anything.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');

interface Run {
  code: number;
  stderr: string;
  /** Argument lines apt-get was called with. */
  apt: string[];
}

describe('scripts/install-deps.sh (fake package tools)', function () {
  this.timeout(30_000);
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-install-deps-'));
    fs.mkdirSync(path.join(tmp, 'repo', 'scripts'), { recursive: true });
    fs.copyFileSync(path.join(REPO, 'scripts', 'install-deps.sh'), path.join(tmp, 'repo', 'scripts', 'install-deps.sh'));
    // node_modules newer than the lock file: no `npm ci`.
    fs.writeFileSync(path.join(tmp, 'repo', 'package-lock.json'), '{}');
    fs.mkdirSync(path.join(tmp, 'repo', 'node_modules'));
    fs.writeFileSync(path.join(tmp, 'repo', 'node_modules', '.package-lock.json'), '{}');
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(tmp, 'repo', 'package-lock.json'), past, past);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Runs the copy with fake tools: `missing` packages are not installed; `node` is a version or absent. */
  function run(opts: { missing: string[]; node?: string; kubectl: boolean }): Promise<Run> {
    const bin = path.join(tmp, 'bin');
    fs.rmSync(bin, { recursive: true, force: true });
    fs.mkdirSync(bin);
    for (const tool of ['grep', 'dirname', 'cat']) fs.symlinkSync(execFileSyncWhich(tool), path.join(bin, tool));
    const script = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
    script('dpkg-query', `for p in ${opts.missing.join(' ')}; do [[ "\${@: -1}" == "$p" ]] && exit 1; done; printf 'install ok installed'`);
    script('apt-get', `echo "$*" >> ${tmp}/apt.log`);
    script('systemctl', 'true');
    script('npm', `echo "npm $*" >> ${tmp}/npm.log`);
    if (opts.node) script('node', `case "$1" in -p) echo ${opts.node.split('.')[0]};; -v) echo v${opts.node};; esac`);
    if (opts.kubectl) script('kubectl', 'true');
    return new Promise((resolve) => {
      execFile('/bin/bash', [path.join(tmp, 'repo', 'scripts', 'install-deps.sh')], { env: { PATH: bin, BERTH_SKIP_BUILD: '1', npm_config_nodedir: '/usr' } }, (err, _stdout, stderr) => {
        const log = path.join(tmp, 'apt.log');
        resolve({ code: err ? Number(err.code ?? 1) : 0, stderr, apt: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [] });
      });
    });
  }

  it('installs kubectl from kubernetes-client and prometheus when missing, and never a Node', async () => {
    const r = await run({ missing: ['prometheus'], node: '20.11.0', kubectl: false });
    expect(r.code, r.stderr).to.equal(0);
    const install = r.apt.find((l) => l.startsWith('install '));
    expect(install?.split(' ')).to.include.members(['kubernetes-client', 'prometheus']);
    expect(r.apt.join('\n')).to.not.match(/\bnode(js)?\b|\bnpm\b/);
    expect(fs.existsSync(path.join(tmp, 'npm.log')), 'npm ci with a fresh node_modules').to.equal(false);
  });

  it('installs Go and grpc-go (golang-go, golang-google-grpc-dev) for the grpc-go interop test when missing', async () => {
    const r = await run({ missing: ['golang-go', 'golang-google-grpc-dev'], node: '20.11.0', kubectl: true });
    expect(r.code, r.stderr).to.equal(0);
    const install = r.apt.find((l) => l.startsWith('install '));
    expect(install?.split(' ')).to.include.members(['golang-go', 'golang-google-grpc-dev']);
    expect(install?.split(' ')).to.not.include('prometheus');
  });

  it('installs nothing when all is there', async () => {
    const r = await run({ missing: [], node: '22.1.0', kubectl: true });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.apt).to.deep.equal([]);
  });

  it("stops before installing anything with Debian's Node 18 or with no Node", async () => {
    for (const node of ['18.19.0', undefined]) {
      const r = await run({ missing: ['prometheus', 'runc'], node, kubectl: false });
      expect(r.code, `node ${node ?? 'absent'}`).to.equal(1);
      expect(r.stderr).to.include('Node.js >= 20 is required');
      expect(r.apt, `apt-get with node ${node ?? 'absent'}`).to.deep.equal([]);
    }
  });

  it('lists no Node package among the apt packages', () => {
    const text = fs.readFileSync(path.join(REPO, 'scripts', 'install-deps.sh'), 'utf8');
    const list = /APT_PACKAGES=\(([\s\S]*?)\n\)/.exec(text)![1].replace(/#.*$/gm, '').split(/\s+/).filter(Boolean);
    expect(list).to.include.members(['prometheus', 'runc', 'conmon']);
    expect(list.filter((p) => /^(nodejs|node|npm|libnode.*)$/.test(p))).to.deep.equal([]);
  });
});

/** Absolute path of `tool` on the real PATH. */
function execFileSyncWhich(tool: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = path.join(dir, tool);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${tool} not found`);
}
