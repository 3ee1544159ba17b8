/**
 * CDI requests from hostile CRI input: the bytes become a `cdi.k8s.io/*` annotation value and a
 * cdi_devices list. Refusals must be InvalidArgumentError; accepted names must be bounded and valid.
 */
import fc from 'fast-check';
import { InvalidArgumentError } from '../../../common/errors';
import { parseQualifiedName } from '../../../runtime/cdi/names';
import { MAX_CDI_REQUESTS, cdiRequests } from '../../../runtime/cdi/requests';
import type { FuzzTarget } from '../target';

const enc = new TextEncoder();

export const target: FuzzTarget = {
  name: 'cdi-requests',
  seeds: () => ['vendor.com/gpu=gpu0', 'vendor.com/gpu=0,example.com/net=eth1', ' a.b/c=d , ,x.y/z=1:2', 'nvidia.com/gpu=all', 'bad', 'v.com/c='].map((s) => enc.encode(s)),
  arbitrary: fc
    .array(fc.tuple(fc.constantFrom('vendor.com', 'a', 'x.y-z', '', '..', 'V_1'), fc.constantFrom('gpu', 'c.d', '', 'a/b'), fc.string({ maxLength: 12 })), { maxLength: 20 })
    .map((parts) => enc.encode(parts.map(([v, c, n]) => `${v}/${c}=${n}`).join(','))),
  async run(input) {
    const text = Buffer.from(input).toString('utf8');
    for (const [devices, annotations] of [
      [[], { 'cdi.k8s.io/fuzz': text }],
      [text.split(','), {}],
    ] as const) {
      let got;
      try {
        got = cdiRequests(devices, annotations);
      } catch (err) {
        if (err instanceof InvalidArgumentError) continue;
        throw err;
      }
      if (got.length > MAX_CDI_REQUESTS) throw new Error(`${got.length} requests accepted, bound is ${MAX_CDI_REQUESTS}`);
      for (const r of got) if (!parseQualifiedName(r.name)) throw new Error(`accepted an invalid name ${JSON.stringify(r.name)}`);
    }
  },
};
