import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'smol-toml';
import { parseArgs } from '../flags';
import { COMMANDS, dispatch, findCommand, usage } from './index';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await dispatch({ args: parseArgs(argv), stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('daemon/commands dispatch', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dispatch-test-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('has unique command words and finds the default (serve) command for no words', () => {
    const keys = COMMANDS.map((c) => c.words.join(' '));
    expect(new Set(keys).size).to.equal(keys.length);
    expect(findCommand([])?.summary).to.match(/^Serve CRI/);
    expect(findCommand(['config', 'extra'])).to.equal(undefined);
  });

  it('runs `config` with the given files and flags', async () => {
    const cfg = path.join(dir, 'berth.toml');
    fs.writeFileSync(cfg, '[metrics]\nlisten = ""\n');
    const r = await run(['config', '--config', cfg, '--config-dir', path.join(dir, 'd'), '--root', '/srv/x']);
    expect(r.code).to.equal(0);
    const doc = parse(r.out) as Record<string, Record<string, unknown>>;
    expect(doc.metrics.listen).to.equal('');
    expect(doc.daemon.root).to.equal('/srv/x');
    expect(r.out.split('\n')[0]).to.contain(cfg);
  });

  it('answers 2 with the problem for an invalid config and for an unknown command', async () => {
    const bad = await run(['config', '--config-dir', path.join(dir, 'd'), '--log-level', 'loud']);
    expect(bad.code).to.equal(2);
    expect(bad.err).to.contain('[log] level: must be one of debug, info, warn, error, got "loud" (from --log-level)');
    const unknown = await run(['images', 'import']);
    expect(unknown.code).to.equal(2);
    expect(unknown.err).to.contain('unknown command "images import"');
  });

  it('prints usage listing every command and flag', async () => {
    const r = await run(['--help']);
    expect(r.code).to.equal(0);
    expect(r.out).to.equal(usage());
    for (const flag of ['--config ', '--config-dir', '--listen', '--root', '--run-root', '--metrics-listen', '--log-level', '--log-format', '--cni-config-dir', '--cni-plugin-dirs', '--registries-config', '--cgroup-driver']) {
      expect(r.out).to.contain(flag);
    }
  });
});
