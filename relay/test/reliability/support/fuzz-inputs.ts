import fc from 'fast-check';
import type { z } from 'zod';

/** One HTTP request of a fuzz case. */
export interface RequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Values of the wrong type, or at the edges of the right one. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -0,
    -1,
    1.5,
    2 ** 31,
    2 ** 53,
    -(2 ** 53),
    1e308,
    '',
    ' ',
    '\u0000',
    'null',
    'NaN',
    '1e309',
    '-1',
    '0x10',
    '*',
    '../../etc/passwd',
    "'; DROP TABLE envelopes; --",
    '\u202e\u0000\ud800',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    [],
    {},
    [null],
    { __proto__: { admin: true } },
    { constructor: { prototype: { admin: true } } },
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ minLength: 100, maxLength: 5000 }),
  fc.base64String({ maxLength: 200 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

type Json = unknown;

function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push(...paths(v, [...prefix, i]));
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(...paths(v, [...prefix, k]));
    }
  }
  return out;
}

function setAt(value: Json, path: (string | number)[], op: 'replace' | 'delete' | 'extra', replacement: Json): Json {
  if (path.length === 0) {
    return op === 'extra' && value !== null && typeof value === 'object' && !Array.isArray(value)
      ? { ...value, unexpectedField: replacement }
      : replacement;
  }
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0 && op === 'delete') {
      copy.splice(Number(head), 1);
      return copy;
    }
    copy[Number(head)] = setAt(copy[Number(head)], rest, op, replacement);
    return copy;
  }
  const obj = { ...(value as Record<string, Json>) };
  if (rest.length === 0 && op === 'delete') {
    delete obj[head as string];
    return obj;
  }
  obj[head as string] = setAt(obj[head as string], rest, op, replacement);
  return obj;
}

/** Mutations of a valid body: a field replaced by a weird value, removed, an unknown field added, an array blown up. */
export function mutated(valid: Json): fc.Arbitrary<Json> {
  const all = paths(valid);
  return fc
    .tuple(
      fc.array(
        fc.tuple(
          fc.constantFrom(...all),
          fc.constantFrom<'replace' | 'delete' | 'extra'>('replace', 'replace', 'delete', 'extra'),
          weirdValue,
        ),
        { minLength: 1, maxLength: 3 },
      ),
      fc.nat({ max: 20 }),
    )
    .map(([ops, blowUp]) => {
      let out = valid;
      for (const [path, op, v] of ops) {
        try {
          out = setAt(out, path, op, v);
        } catch {
          // path vanished after an earlier mutation
        }
      }
      if (blowUp === 0 && out !== null && typeof out === 'object' && !Array.isArray(out)) {
        // Boundary: an array field far past its maximum length.
        const key = Object.keys(out).find((k) => Array.isArray((out as Record<string, Json>)[k]));
        if (key) {
          const arr = (out as Record<string, Json[]>)[key] as Json[];
          out = { ...(out as object), [key]: Array.from({ length: 300 }, () => arr[0] ?? null) };
        }
      }
      return out;
    });
}

const deepNesting = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Bodies that are not the JSON the route wants at all. */
export const rawBodies: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      '{"a":',
      '\ufeff{}',
      'null',
      '[]',
      '"string"',
      '1e999999',
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      deepNesting(5000),
      `{"a":${'1'.repeat(5000)}}`,
    ),
  },
);

/** Over the JSON body limit (the relay must answer 413 without reading it all into memory). */
export const oversizedBody = (limitBytes: number) =>
  fc.integer({ min: limitBytes + 1, max: limitBytes * 2 }).map((n) => `{"a":"${'x'.repeat(n)}"}`);

/** A body that fails `schema` (cases that happen to be valid are skipped). */
export function invalidFor(schema: z.ZodType, valid: Json): fc.Arbitrary<string | Uint8Array> {
  const serialized = (v: unknown) => JSON.stringify(v) ?? 'null';
  return fc
    .oneof(
      { weight: 6, arbitrary: mutated(valid).map(serialized) },
      { weight: 3, arbitrary: rawBodies },
      { weight: 1, arbitrary: weirdValue.map(serialized) },
    )
    .filter((body) => !isValidJsonFor(schema, body));
}

function isValidJsonFor(schema: z.ZodType, body: string | Uint8Array): boolean {
  try {
    // Like Request.json(): UTF-8, a leading byte-order mark ignored.
    const text = (typeof body === 'string' ? body : Buffer.from(body).toString()).replace(/^\ufeff/, '');
    return schema.safeParse(JSON.parse(text)).success;
  } catch {
    return false;
  }
}

/** Authorization headers that must never authenticate. */
export const badAuthorization: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer x', 'Bearer a.b.c', 'Bearer ..', 'Token abc'),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
  fc
    .tuple(fc.base64String({ maxLength: 60 }), fc.base64String({ maxLength: 200 }), fc.base64String({ maxLength: 90 }))
    .map(([a, b, c]) => `Bearer ${a}.${b}.${c}`.replace(/[=+/]/g, '_')),
);

/** Path segments that are malformed, encoded or at the edges. */
export const badSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '%00',
    '%2e%2e%2f',
    '..',
    '%ff',
    '%',
    '*',
    '-1',
    '0',
    '128',
    '1.5',
    '1e2',
    '1e0',
    '01',
    '%201',
    '1%20',
    '0x1',
    ' 1',
    'null',
    'undefined',
    'NaN',
    '00000000-0000-0000-0000-000000000000',
    'x'.repeat(5000),
  ),
  fc.string({ maxLength: 40 }).map((s) => encodeURIComponent(s)),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.integer({ min: -1000, max: 100_000 }).map(String),
);

export const anyMethod = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');

export const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-16',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  '',
);
