/**
 * Fuzz target: registries.conf v2 text → parseRegistriesConfig (image/registries-config.ts), then
 * the endpoints and search registries it yields for a few references. Every rejection must be an
 * InvalidArgumentError (or FailedPrecondition for a blocked registry); nothing may crash or take
 * long (e.g. regex backtracking on long values).
 */
import fc from 'fast-check';
import { FailedPreconditionError, InvalidArgumentError } from '../../../common/errors';
import { parseReference } from '../../../image/reference';
import { parseRegistriesConfig, pullEndpoints, searchRegistries, type RegistriesConfig } from '../../../image/registries-config';
import { SAMPLE_REGISTRIES_CONF } from '../../../image/testing/registries-fixtures';
import type { FuzzTarget } from '../target';

/** Longest one parse may take, per 100 KiB of input. */
const PARSE_BUDGET_MS_PER_100K = 200;

const SEEDS = [
  SAMPLE_REGISTRIES_CONF,
  `[[registry]]
location = "docker.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "[::1]:5000/hub///"
`,
  `[registries.search]
registries = ["docker.io"]
`,
  `unqualified-search-registries = []`,
];

const REFS = ['busybox', 'registry.k8s.io/pause:3.9', 'example.com/team/app@sha256:' + 'a'.repeat(64), 'x.corp.example/a/b', 'evil.example.org/x', 'localhost:5000/a'].map((r) =>
  parseReference(r),
);

function typed(err: unknown, blockedOk: boolean): boolean {
  return err instanceof InvalidArgumentError || (blockedOk && err instanceof FailedPreconditionError);
}

export const target: FuzzTarget = {
  name: 'registries-conf',
  seeds: () => SEEDS.map((s) => new TextEncoder().encode(s)),
  async run(input: Uint8Array): Promise<void> {
    const text = Buffer.from(input).toString('utf8');
    const started = performance.now();
    let config: RegistriesConfig;
    try {
      config = parseRegistriesConfig(text, 'fuzz.conf');
    } catch (err) {
      if (!typed(err, false)) throw new Error(`parseRegistriesConfig threw ${String(err)}`, { cause: err });
      return;
    } finally {
      const ms = performance.now() - started;
      const budget = PARSE_BUDGET_MS_PER_100K * Math.max(1, text.length / 100_000);
      if (ms > budget) throw new Error(`parseRegistriesConfig took ${ms.toFixed(1)} ms on ${text.length} chars`);
    }
    for (const host of searchRegistries(config)) if (typeof host !== 'string' || host === '') throw new Error('empty search registry');
    for (const ref of REFS) {
      try {
        for (const e of pullEndpoints(config, ref)) {
          if (!e.host || e.host.includes('/')) throw new Error(`endpoint host ${JSON.stringify(e.host)} for ${ref.domain}/${ref.path}`);
        }
      } catch (err) {
        if (!typed(err, true)) throw err;
      }
    }
  },
  arbitrary: fc
    .tuple(
      fc.array(fc.constantFrom('quay.io', 'docker.io', 'localhost:5000', 'a b', '', '*.x', '[::1]'), { maxLength: 4 }),
      fc.array(
        fc.record({
          prefix: fc.option(fc.constantFrom('registry.k8s.io', '*.corp.example', 'example.com/team', '/', '*.', 'x'.repeat(300)), { nil: undefined }),
          location: fc.option(fc.constantFrom('internal.example.com:8443/m', 'localhost:5000', '', '//', 'a/' + '/'.repeat(5000)), { nil: undefined }),
          insecure: fc.constantFrom('true', 'false', '"yes"', '1'),
          blocked: fc.constantFrom('true', 'false'),
          mirrors: fc.array(fc.constantFrom('localhost:5000', 'm.example.com/p', '', 'bad host'), { maxLength: 3 }),
          pfm: fc.constantFrom('all', 'digest-only', 'tag-only', 'some'),
        }),
        { maxLength: 4 },
      ),
    )
    .map(([search, regs]) => {
      const lines = [`unqualified-search-registries = ${JSON.stringify(search)}`];
      for (const r of regs) {
        lines.push('[[registry]]');
        if (r.prefix !== undefined) lines.push(`prefix = ${JSON.stringify(r.prefix)}`);
        if (r.location !== undefined) lines.push(`location = ${JSON.stringify(r.location)}`);
        lines.push(`insecure = ${r.insecure}`, `blocked = ${r.blocked}`);
        for (const m of r.mirrors) lines.push('[[registry.mirror]]', `location = ${JSON.stringify(m)}`, `pull-from-mirror = "${r.pfm}"`);
      }
      return new TextEncoder().encode(lines.join('\n') + '\n');
    }),
  budgetMs: 2000,
};
