/**
 * A fuzzer driven by `/openapi.json`: for every operation, requests built from its own schemas,
 * some valid, most bent (wrong types, numbers past every range, bad percent-encoding, NUL bytes,
 * long strings, fields missing or extra, malformed JSON), sent with a real API key of a random
 * role. Any 5xx is a finding. One seed makes one sequence of requests, so a finding replays.
 */
type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  format?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  default?: unknown;
};

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}

export interface FuzzRequest {
  operationId: string;
  method: string;
  path: string;
  role: string | null;
  headers: Record<string, string>;
  body?: string;
}

export interface Finding {
  request: FuzzRequest;
  status: number;
  answer: string;
}

/** mulberry32: small, fast, and the same numbers for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hostileStrings = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  'x'.repeat(10_000),
  '\uD800',
  '😀'.repeat(50),
  "' OR 1=1 --",
  '../../etc/passwd',
  '9007199254740993',
  '-1',
  '1e400',
  'NaN',
  'null',
  '0x10',
  '2147483648',
  '<script>alert(1)</script>',
];
const hostileNumbers = [
  9_007_199_254_740_992, 1e308, -1e308, 2_147_483_648, -2_147_483_649, 0.5, -1, 0, 1e21,
];
/** Raw path segments and query values, sent as they are: some are not valid percent-encoding. */
const hostileRaw = ['%', '%zz', '%E0%A4%A', '%00', '%C0%AF', '%FF%FE', '..', '%2e%2e', '%20'];
/** Percent-encoded; a lone surrogate (which encodeURIComponent refuses) as its would-be bytes. */
const encode = (text: string): string => {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
};
const malformedBodies = ['{', '{"a":1}garbage', 'null', '[]', '"text"', '1e999', '{"a":"\\u0000"}'];

export class Fuzzer {
  constructor(private readonly random: () => number) {}

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }

  /** A v4 UUID from the seed, so a replay sends the same ones. */
  private uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random() * 16).toString(16));
    hex[12] = '4';
    hex[16] = '8';
    const s = hex.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  /** A value the schema accepts, or nearly (patterns are not followed). */
  valid(schema: Schema | undefined, depth = 0): unknown {
    if (!schema) return 'x';
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return this.pick(schema.enum);
    const union = schema.anyOf ?? schema.oneOf;
    if (union?.length) return this.valid(this.pick(union), depth);
    if (schema.allOf?.length) return this.valid(schema.allOf[0], depth);
    const type = Array.isArray(schema.type) ? this.pick(schema.type) : schema.type;
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        for (const [name, field] of Object.entries(schema.properties ?? {})) {
          if (schema.required?.includes(name) || (depth < 3 && this.chance(0.5)))
            out[name] = this.valid(field, depth + 1);
        }
        return out;
      }
      case 'array': {
        const n = Math.max(schema.minItems ?? 0, depth < 3 ? Math.floor(this.random() * 3) : 0);
        return Array.from({ length: n }, () => this.valid(schema.items, depth + 1));
      }
      case 'integer':
      case 'number': {
        const min = schema.minimum ?? 0;
        const max = Math.min(schema.maximum ?? min + 1000, min + 1000);
        const value = min + this.random() * (max - min);
        return type === 'integer' ? Math.round(value) : Math.round(value * 100) / 100;
      }
      case 'boolean':
        return this.chance(0.5);
      case 'null':
        return null;
      default:
        return this.validString(schema);
    }
  }

  private validString(schema: Schema): string {
    switch (schema.format) {
      case 'uuid':
        return this.uuid();
      case 'date-time':
        return new Date(Date.now() - Math.floor(this.random() * 86_400_000)).toISOString();
      case 'email':
        return 'fuzz@example.com';
      case 'uri':
        return 'http://127.0.0.1:9/fuzz';
      default:
        return this.pick(['fuzz', 'A-1', 'member.enrolled', 'Gold', 'EUR', 'abc.def']);
    }
  }

  /** Any value of the wrong kind, or a right kind past every range. */
  hostile(): unknown {
    return this.pick<() => unknown>([
      () => this.pick(hostileStrings),
      () => this.pick(hostileNumbers),
      () => this.pick([null, true, false, [], {}, [null], { '': 1 }]),
      () => ({ nested: { deeper: [this.pick(hostileStrings)] } }),
    ])();
  }

  /** The value with one part (or the whole) bent: replaced, removed, or joined by an extra. */
  mutate(value: unknown, depth = 0): unknown {
    if (value !== null && typeof value === 'object' && depth < 4 && this.chance(0.75)) {
      if (Array.isArray(value)) {
        if (value.length === 0 || this.chance(0.2)) return [...value, this.hostile()];
        const i = Math.floor(this.random() * value.length);
        return (value as unknown[]).map((v, j) => (i === j ? this.mutate(v, depth + 1) : v));
      }
      const entries = Object.entries(value);
      const roll = this.random();
      if (entries.length === 0 || roll < 0.15)
        return {
          ...value,
          [this.pick(['extra', '__proto__', 'constructor', '\u0000'])]: this.hostile(),
        };
      const [name] = this.pick(entries);
      if (roll < 0.3) return Object.fromEntries(entries.filter(([k]) => k !== name));
      return Object.fromEntries(
        entries.map(([k, v]) => [k, k === name ? this.mutate(v, depth + 1) : v]),
      );
    }
    return this.hostile();
  }

  /** A path segment or query value: valid, a hostile string (encoded), or raw bytes as they are. */
  private urlValue(schema: Schema): string {
    const roll = this.random();
    if (roll < 0.35) return encode(String(this.valid(schema)));
    if (roll < 0.55) return this.pick(hostileRaw);
    if (roll < 0.75) return String(this.pick(hostileNumbers));
    return encode(String(this.pick(hostileStrings))).slice(0, 3000);
  }

  request(
    method: string,
    template: string,
    operation: Operation,
    keys: Record<string, string>,
  ): FuzzRequest {
    const params = operation.parameters ?? [];
    let path = template;
    for (const p of params.filter((p) => p.in === 'path'))
      path = path.replace(`{${p.name}}`, this.urlValue(p.schema));
    const query = params
      .filter((p) => p.in === 'query' && (p.required || this.chance(0.5)))
      .map((p) => `${encodeURIComponent(p.name)}=${this.urlValue(p.schema)}`);
    if (this.chance(0.1))
      query.push(`${this.pick(['extra', '%zz', 'a[b]', 'limit'])}=${this.pick(hostileRaw)}`);
    if (query.length) path += `?${query.join('&')}`;

    const roles = Object.keys(keys);
    const role = this.chance(0.05) ? null : this.chance(0.6) ? 'admin' : this.pick(roles);
    const headers: Record<string, string> = {};
    if (role) headers.authorization = `Bearer ${keys[role]}`;
    if (method !== 'get' && this.chance(0.3))
      headers['idempotency-key'] = this.chance(0.9)
        ? this.uuid()
        : this.pick(['', 'a b', 'x'.repeat(300)]);

    let body: string | undefined;
    const json = operation.requestBody?.content['application/json'];
    if (json || (method !== 'get' && this.chance(0.2))) {
      headers['content-type'] = this.chance(0.9)
        ? 'application/json'
        : this.pick(['text/csv', 'text/plain', 'application/json; charset=latin1']);
      const roll = this.random();
      if (roll < 0.1) body = this.pick(malformedBodies);
      else {
        const valid = this.valid(json?.schema);
        body = JSON.stringify(roll < 0.3 ? valid : this.mutate(valid));
      }
    }
    return {
      operationId: operation.operationId,
      method: method.toUpperCase(),
      path,
      role,
      headers,
      body,
    };
  }
}

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every operation in the document, with what the fuzzer needs to know of it. */
export function operationsOf(doc: { paths: Record<string, Record<string, Operation>> }) {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    methods.flatMap((method) => {
      const operation = ops[method];
      if (!operation) return [];
      const streams = Object.values(operation.responses).some(
        (r) => r.content && 'text/event-stream' in r.content,
      );
      return [{ path, method, operation, streams }];
    }),
  );
}

/** Sends one request; a stream is closed once its headers arrive. */
export async function send(
  baseUrl: string,
  request: FuzzRequest,
): Promise<{ status: number; answer: string }> {
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, answer: '(event stream)' };
  }
  return { status: response.status, answer: (await response.text()).slice(0, 500) };
}

/**
 * Fuzzes every operation with `perOperation` requests, `concurrency` at a time; answers what
 * came back 5xx (or never came back).
 */
export async function fuzz(options: {
  baseUrl: string;
  openApi: { paths: Record<string, Record<string, Operation>> };
  keys: Record<string, string>;
  seed: number;
  perOperation: number;
  concurrency?: number;
  /** Operations left out (by operationId), with why, e.g. ones that end the caller's session. */
  skip?: string[];
}): Promise<{ sent: number; findings: Finding[]; statuses: Record<number, number> }> {
  const fuzzer = new Fuzzer(prng(options.seed));
  const requests: FuzzRequest[] = [];
  for (const { path, method, operation } of operationsOf(options.openApi)) {
    if (options.skip?.includes(operation.operationId)) continue;
    for (let i = 0; i < options.perOperation; i++)
      requests.push(fuzzer.request(method, path, operation, options.keys));
  }
  const findings: Finding[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      try {
        const { status, answer } = await send(options.baseUrl, request);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 500) findings.push({ request, status, answer });
      } catch (err) {
        findings.push({ request, status: 0, answer: String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return { sent: requests.length, findings, statuses };
}

/** A finding as a reader can replay it: method, path, role, headers and body. */
export function describeFinding(f: Finding): string {
  const { authorization: _key, ...headers } = f.request.headers;
  const body =
    f.request.body === undefined ? '' : `\n  body: ${JSON.stringify(f.request.body.slice(0, 400))}`;
  return `${f.status} ${f.request.method} ${f.request.path.slice(0, 300)} (${f.request.operationId}, role ${f.request.role ?? 'none'})\n  headers: ${JSON.stringify(headers)}${body}\n  answer: ${f.answer.slice(0, 300)}`;
}
