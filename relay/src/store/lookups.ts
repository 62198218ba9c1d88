import type { Sql } from './db.js';
import { type DeviceRow, toDevice } from './devices.js';
import { GroupLoader } from './group-loader.js';
import { type QueuedEnvelope, type RawEnvelope, toQueued } from './messages.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface QueueRead {
  accountId: string;
  deviceId: number;
  /** Queue positions already on the wire. */
  exclude: number[];
  /** Only positions above this one (0: the whole queue). */
  after: number;
  limit: number;
  now: number;
}

export interface FamilyKey {
  familyId: string;
  accountId: string;
  deviceId: number;
}

export interface DeviceCacheOptions {
  /** Accounts whose device lists are kept. */
  maxEntries: number;
  /** Longest a cached list is used, even without any change announced. */
  ttlMs: number;
  /** False while device-list changes may not reach this instance (fan-out down): then nothing is cached. */
  trusted: () => boolean;
  now: () => number;
}

/**
 * The per-request reads of the hot path, grouped across concurrent requests (see GroupLoader):
 * "is this token family still live" (every authenticated request), "the devices of this account"
 * (every send) and "the head of this device's queue" (every delivery). Same answers as the single
 * queries, far fewer round trips under load. Device lists are also cached while the fan-out announces
 * every change to them (`forgetDevices`), so a busy conversation does not read them on every send.
 */
export class Lookups {
  private readonly families: GroupLoader<FamilyKey, true>;
  private readonly devices: GroupLoader<string, DeviceRow[]>;
  private readonly queues: GroupLoader<QueueRead & { n: number }, QueuedEnvelope[]>;
  private reads = 0;
  private readonly deviceCache = new Map<string, { devices: DeviceRow[]; until: number }>();
  /** Bumped by every forget: a list read while one happened may be stale and is not cached. */
  private forgets = 0;

  constructor(
    sql: Sql,
    maxConcurrent = 2,
    private readonly cache: DeviceCacheOptions = {
      maxEntries: 0,
      ttlMs: 0,
      trusted: () => false,
      now: Date.now,
    },
  ) {
    this.families = new GroupLoader<FamilyKey, true>(
      async (keys) => {
        const ids = keys.map((k) => k.familyId).filter((id) => UUID.test(id));
        const live = new Map<string, true>();
        if (ids.length === 0) {
          return live;
        }
        const rows = await sql<{ id: string; account_id: string; device_id: number }[]>`
          SELECT id, account_id, device_id FROM token_families
          WHERE id = ANY(${ids}::uuid[]) AND revoked_at IS NULL`;
        for (const r of rows) {
          live.set(familyKey({ familyId: r.id, accountId: r.account_id, deviceId: r.device_id }), true);
        }
        return live;
      },
      familyKey,
      { maxConcurrent, maxBatch: 500 },
    );
    this.devices = new GroupLoader<string, DeviceRow[]>(
      async (accountIds) => {
        const rows = await sql<(Parameters<typeof toDevice>[0] & { account_id: string })[]>`
          SELECT account_id, device_id, name, registration_id, created_at, last_seen_at
          FROM devices WHERE account_id = ANY(${accountIds}::uuid[]) ORDER BY account_id, device_id`;
        const byAccount = new Map<string, DeviceRow[]>();
        for (const r of rows) {
          const list = byAccount.get(r.account_id) ?? [];
          list.push(toDevice(r));
          byAccount.set(r.account_id, list);
        }
        return byAccount;
      },
      (accountId) => accountId.toLowerCase(),
      { maxConcurrent, maxBatch: 500 },
    );
    this.queues = new GroupLoader<QueueRead & { n: number }, QueuedEnvelope[]>(
      async (reads) => {
        const rows = await sql<(RawEnvelope & { n: number })[]>`
          SELECT r.n, q.id, q.guid, q.type, q.source_account_id, q.source_device_id, q.device_id,
                 q.client_timestamp, q.server_timestamp, q.content
          FROM unnest(${reads.map((r) => r.n)}::bigint[], ${reads.map((r) => r.accountId)}::uuid[],
                      ${reads.map((r) => r.deviceId)}::smallint[], ${reads.map((r) => r.limit)}::int[],
                      ${reads.map((r) => r.now)}::bigint[], ${reads.map((r) => `{${r.exclude.join(',')}}`)}::text[],
                      ${reads.map((r) => r.after)}::bigint[])
               AS r(n, account_id, device_id, lim, now, excl, aft)
          CROSS JOIN LATERAL (
            SELECT id, guid, type, source_account_id, source_device_id, device_id, client_timestamp, server_timestamp, content
            FROM envelopes e
            WHERE e.account_id = r.account_id AND e.device_id = r.device_id AND e.id > r.aft
              AND e.expires_at > r.now AND e.id <> ALL(r.excl::bigint[])
            ORDER BY e.id LIMIT r.lim) q
          ORDER BY r.n, q.id`;
        const byRead = new Map<string, QueuedEnvelope[]>();
        for (const row of rows) {
          const key = String(row.n);
          const list = byRead.get(key) ?? [];
          list.push(toQueued(row));
          byRead.set(key, list);
        }
        return byRead;
      },
      (read) => String(read.n),
      { maxConcurrent, maxBatch: 200 },
    );
  }

  /**
   * The first `limit` unexpired envelopes of a device's queue above `after`, in order, leaving out `exclude`
   * (positions already on the wire); reads of many sockets share one query under load. A read from the head
   * (`after` 0) also finds an envelope whose transaction committed after a later one's.
   */
  async readQueue(read: QueueRead): Promise<QueuedEnvelope[]> {
    this.reads = (this.reads + 1) % Number.MAX_SAFE_INTEGER;
    return (await this.queues.get({ ...read, n: this.reads })) ?? [];
  }

  /** True when the family exists, is not revoked and belongs to this device. */
  async isFamilyLive(key: FamilyKey): Promise<boolean> {
    return (await this.families.get(key)) === true;
  }

  /** The account's devices in device-id order (empty for an unknown account). */
  async listDevices(accountId: string): Promise<readonly DeviceRow[]> {
    const key = accountId.toLowerCase();
    const trusted = this.cache.maxEntries > 0 && this.cache.trusted();
    if (trusted) {
      const hit = this.deviceCache.get(key);
      if (hit && hit.until > this.cache.now()) {
        return hit.devices;
      }
    }
    const forgetsBefore = this.forgets;
    const devices = (await this.devices.get(accountId)) ?? [];
    if (trusted && devices.length > 0 && this.forgets === forgetsBefore && this.cache.trusted()) {
      if (this.deviceCache.size >= this.cache.maxEntries) {
        // Oldest first: Map iteration follows insertion order.
        this.deviceCache.delete(this.deviceCache.keys().next().value as string);
      }
      this.deviceCache.delete(key);
      this.deviceCache.set(key, { devices, until: this.cache.now() + this.cache.ttlMs });
    }
    return devices;
  }

  /** An account's device list changed (undefined: any may have): cached lists are dropped. */
  forgetDevices(accountId: string | undefined): void {
    this.forgets += 1;
    if (accountId === undefined) {
      this.deviceCache.clear();
    } else {
      this.deviceCache.delete(accountId.toLowerCase());
    }
  }
}

const familyKey = (k: FamilyKey) => `${k.familyId.toLowerCase()}:${k.accountId.toLowerCase()}:${k.deviceId}`;
