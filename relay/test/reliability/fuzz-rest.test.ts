import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDevice, api, registerDevice, type TestDevice } from '../support/client.js';
import { generateKeys } from '../support/keys.js';
import { emptyOutcome, type FuzzOutcome, fireCases } from './support/fuzz-runner.js';
import { pick, recordFigures } from './support/profile.js';
import { useRelayProcess } from './support/relay-fixture.js';
import { restEndpoints } from './support/rest-endpoints.js';
import { changedTables, tableCounts } from './support/table-counts.js';

const CASES = pick(300, 10_000);
const SEED = Number(process.env.SOTTO_FUZZ_SEED ?? Date.now() % 2 ** 31);
const BODY_LIMIT = 64 * 1024;
const BLOB_LIMIT = 1024 * 1024;

let alice: TestDevice;
let bob: TestDevice;
let bob2: TestDevice;
/** Alice's attachments: one complete, one half uploaded (16 of 64 bytes). */
let completeBlob: string;
let partialBlob: string;

const fx = useRelayProcess({
  frequentGc: true,
  env: { LOG_LEVEL: 'warn', MAX_BODY_BYTES: String(BODY_LIMIT), ATTACHMENT_MAX_BYTES: String(BLOB_LIMIT) },
});

beforeAll(async () => {
  alice = await registerDevice(fx.relay.url);
  bob = await registerDevice(fx.relay.url);
  bob2 = await addDevice(bob, 4321);
  const bobKeys = generateKeys(3);
  const uploads: [TestDevice, ReturnType<typeof generateKeys>][] = [
    [alice, generateKeys(3)],
    [bob, bobKeys],
    [bob2, generateKeys(2, bobKeys.identity, 50)],
  ];
  for (const [d, keys] of uploads) {
    const r = await api(fx.relay.url, 'PUT', '/v1/keys', { token: d.accessToken, body: keys.upload });
    expect(r.status).toBe(204);
  }
  const upload = async (bytes: Buffer, send: number) => {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const created = await api<{ id: string }>(fx.relay.url, 'POST', '/v1/attachments', {
      token: alice.accessToken,
      body: { size: bytes.length, sha256 },
    });
    expect(created.status).toBe(201);
    const patch = await fetch(`${fx.relay.url}/v1/attachments/${created.body.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${alice.accessToken}`, 'upload-offset': '0' },
      body: bytes.subarray(0, send),
    });
    expect(patch.status).toBe(200);
    return created.body.id;
  };
  completeBlob = await upload(randomBytes(32), 32);
  partialBlob = await upload(randomBytes(64), 16);
}, 120_000);

describe('REST fuzzing against a real relay (Postgres + Redis)', () => {
  it(
    'never answers 5xx, never crashes, changes nothing and keeps memory flat',
    async () => {
      const endpoints = restEndpoints({
        alice,
        bob,
        bob2,
        completeBlob,
        partialBlob,
        bodyLimit: BODY_LIMIT,
        blobLimit: BLOB_LIMIT,
      });
      const byEndpoint: Record<string, FuzzOutcome> = {};
      const before = await tableCounts(fx.db.url);
      // Warm up every route (JIT, pools, caches), then take the memory baseline.
      for (const [i, endpoint] of endpoints.entries()) {
        await fireCases(fx.relay.url, fc.sample(endpoint.cases(), { numRuns: 60, seed: SEED - 1 - i }), {
          mayAccept: true,
        });
      }
      const rssBefore = fx.relay.rss();
      for (const [i, endpoint] of endpoints.entries()) {
        const specs = fc.sample(endpoint.cases(), { numRuns: CASES, seed: SEED + i });
        byEndpoint[endpoint.name] = await fireCases(
          fx.relay.url,
          specs,
          { mayAccept: endpoint.mayAccept },
          emptyOutcome(),
        );
      }
      const rssAfter = fx.relay.rss();
      const after = await tableCounts(fx.db.url);
      const health = await api(fx.relay.url, 'GET', '/healthz');
      // The accounts still work: nothing was deleted, revoked or replaced.
      const me = await api(fx.relay.url, 'GET', '/v1/accounts/me', { token: alice.accessToken });

      const total = (k: keyof Omit<FuzzOutcome, 'statuses' | 'examples'>) =>
        Object.values(byEndpoint).reduce((n, o) => n + o[k], 0);
      const perEndpoint = Object.fromEntries(Object.entries(byEndpoint).map(([k, o]) => [k, o.cases]));
      const examples = Object.values(byEndpoint).flatMap((o) => o.examples);
      recordFigures('fuzz-rest', {
        seed: SEED,
        fuzz_cases: total('cases'),
        server_errors: total('serverErrors'),
        unexpected_success: total('unexpectedSuccess'),
        bad_error_shape: total('badErrorShape'),
        transport_errors: total('transportErrors'),
        state_changes: changedTables(before, after).length,
        relay_crashes: fx.relay.alive ? 0 : 1,
        relay_error_log_lines: fx.relay.errorLines,
        rss_growth_mib: Math.round(((rssAfter - rssBefore) / 2 ** 20) * 10) / 10,
        cases_per_endpoint: perEndpoint,
      });
      for (const [name, o] of Object.entries(byEndpoint)) {
        process.stdout.write(`  ${name}: ${o.cases} cases ${JSON.stringify(o.statuses)}\n`);
      }
      expect(examples).toEqual([]);
      expect(total('serverErrors')).toBe(0);
      expect(total('unexpectedSuccess')).toBe(0);
      expect(total('badErrorShape')).toBe(0);
      expect(changedTables(before, after)).toEqual([]);
      expect(fx.relay.alive).toBe(true);
      expect(health.status).toBe(200);
      expect(me.status).toBe(200);
      expect(fx.relay.errorLines).toBe(0);
      expect(rssAfter - rssBefore).toBeLessThan(50 * 2 ** 20);
      for (const o of Object.values(byEndpoint)) {
        expect(o.cases).toBeGreaterThanOrEqual(CASES * 0.95);
      }
    },
    pick(120_000, 900_000),
  );
});
