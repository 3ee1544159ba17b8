import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { runtime } from './generated/cri';

interface FieldFacts {
  id: number;
  type: string;
  rule?: 'repeated';
  keyType?: string;
}
interface UpstreamTable {
  messages: Record<string, Record<string, FieldFacts>>;
  enums: Record<string, Record<string, number>>;
  services: Record<string, Record<string, { requestType: string; responseType: string; responseStream?: true }>>;
}

/** A source file of cri/api (next to the compiled tree or in the working directory). */
function apiFile(name: string): string {
  const candidates = [path.resolve(__dirname, '../../../cri/api', name), path.resolve(process.cwd(), 'cri/api', name)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`${name} not found in ${candidates.join(', ')}`);
  return found;
}

/** Our cri.proto as the same kind of table (proto field names kept as written). */
function tableOfProto(file: string): UpstreamTable {
  const root = new protobuf.Root().loadSync(file, { keepCase: true }).resolveAll();
  const table: UpstreamTable = { messages: {}, enums: {}, services: {} };
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      const name = o.fullName.replace(/^\.runtime\.v1\./, '');
      if (o instanceof protobuf.Type) {
        const fields: Record<string, FieldFacts> = {};
        for (const f of o.fieldsArray) {
          fields[f.name] = { id: f.id, type: f.type, ...(f.repeated ? { rule: 'repeated' as const } : {}), ...(f instanceof protobuf.MapField ? { keyType: f.keyType } : {}) };
        }
        table.messages[name] = fields;
      } else if (o instanceof protobuf.Enum) {
        table.enums[name] = { ...o.values };
      } else if (o instanceof protobuf.Service) {
        table.services[name] = Object.fromEntries(
          o.methodsArray.map((m) => [m.name, { requestType: m.requestType, responseType: m.responseType, ...(m.responseStream ? { responseStream: true as const } : {}) }]),
        );
      }
      if (o instanceof protobuf.Namespace) walk(o);
    }
  };
  walk(root);
  return table;
}

describe('cri/api cri.proto against the upstream field table', () => {
  const upstream = JSON.parse(fs.readFileSync(apiFile('upstream-fields.json'), 'utf8')) as UpstreamTable;
  const ours = tableOfProto(apiFile('cri.proto'));

  it('has only fields that upstream has, with the same number, type, label and map key', () => {
    const wrong: string[] = [];
    for (const [msg, fields] of Object.entries(ours.messages)) {
      for (const [name, facts] of Object.entries(fields)) {
        const up = upstream.messages[msg]?.[name];
        if (!up) wrong.push(`${msg}.${name}: not upstream`);
        else if (JSON.stringify(facts) !== JSON.stringify(up)) wrong.push(`${msg}.${name}: ours ${JSON.stringify(facts)}, upstream ${JSON.stringify(up)}`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('lacks no upstream message, field, enum value or RPC', () => {
    const missing: string[] = [];
    for (const [msg, fields] of Object.entries(upstream.messages)) {
      for (const name of Object.keys(fields)) if (!ours.messages[msg]?.[name]) missing.push(`${msg}.${name}`);
      if (!ours.messages[msg]) missing.push(msg);
    }
    for (const [en, values] of Object.entries(upstream.enums)) {
      for (const [v, n] of Object.entries(values)) if (ours.enums[en]?.[v] !== n) missing.push(`${en}.${v} = ${n}`);
    }
    for (const [svc, rpcs] of Object.entries(upstream.services)) {
      for (const [rpc, facts] of Object.entries(rpcs)) if (JSON.stringify(ours.services[svc]?.[rpc]) !== JSON.stringify(facts)) missing.push(`${svc}.${rpc}`);
    }
    expect(missing).to.deep.equal([]);
  });

  it('has no enum value upstream lacks', () => {
    const extra = Object.entries(ours.enums).flatMap(([en, values]) => Object.keys(values).filter((v) => upstream.enums[en]?.[v] === undefined).map((v) => `${en}.${v}`));
    expect(extra).to.deep.equal([]);
  });

  it('is what the generated codecs were built from (KeyValue and ExecRequest encode with the upstream tags)', () => {
    // KeyValue.value is field 2, length-delimited (tag 0x12); ExecRequest.audit_request_id is field 7 (tag 0x3a).
    const kv = runtime.v1.KeyValue.encode({ key: 'K', value: 'v' }).finish();
    expect(Buffer.from(kv).toString('hex')).to.equal('0a014b120176');
    const exec = runtime.v1.ExecRequest.encode({ auditRequestId: 'a' }).finish();
    expect(Buffer.from(exec).toString('hex')).to.equal('3a0161');
    for (const msg of Object.keys(upstream.messages).filter((m) => !m.includes('.'))) {
      expect(runtime.v1, msg).to.have.property(msg);
    }
  });
});
