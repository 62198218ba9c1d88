import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessengerEvent } from '../messenger-types.js';
import type { ProtocolStores } from '../protocol/protocol-stores.js';
import type { RelayApi } from '../relay-client/relay-api.js';
import { DatabaseLock, openDatabase } from '../store/database.js';
import { all, run, sql, type WritableDB } from '../store/sql.js';
import { CoreContext, EventHub } from './core-context.js';

const dirs: string[] = [];
const open: WritableDB[] = [];
afterEach(() => {
  for (const db of open.splice(0)) {
    db.close();
  }
  for (const dir of dirs.splice(0)) {
    rmSync(dir, { recursive: true, force: true });
  }
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-ctx-'));
  dirs.push(dir);
  const key = randomBytes(32);
  const db = openDatabase(join(dir, 'p.db'), { key });
  // A second connection sees only what is committed.
  const observer = openDatabase(join(dir, 'p.db'), { key });
  open.push(db, observer);
  const events = new EventHub();
  const delivered: string[] = [];
  events.on((event: MessengerEvent) => {
    if (event.type === 'typing') {
      delivered.push(event.conversationId);
    }
  });
  const ctx = new CoreContext(
    db,
    new DatabaseLock(db),
    {} as ProtocolStores,
    {} as RelayApi,
    { accountId: 'me', deviceId: 1, username: 'me' },
    events,
    Date.now,
  );
  const committed = () =>
    all<{ key: string }>(observer, sql`SELECT key FROM settings WHERE key LIKE 'unit-%' ORDER BY key`).map(
      (r) => r.key,
    );
  const write = (name: string) => {
    run(db, sql`INSERT INTO settings (key, value) VALUES (${name}, 'v')`);
    events.emit({ type: 'typing', conversationId: name, typing: true });
  };
  return { ctx, committed, write, delivered };
}

describe('CoreContext.tx (group commit)', () => {
  it('settles each unit only after the COMMIT that stored it, and a failing unit rolls back alone', async () => {
    const { ctx, committed, write, delivered } = setup();
    const seenAtResolve: string[][] = [];
    const a = ctx.tx(() => write('unit-a')).then(() => seenAtResolve.push(committed()));
    const b = ctx.tx(async () => {
      write('unit-b');
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('boom');
    });
    const c = ctx.tx(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      write('unit-c');
    });
    await expect(b).rejects.toThrow('boom');
    await Promise.all([a, c]);
    // `a` was queued with `b` and `c` and committed with `c`: when it resolved, both were on disk.
    expect(seenAtResolve).toEqual([['unit-a', 'unit-c']]);
    expect(committed()).toEqual(['unit-a', 'unit-c']);
    // Events of the rolled-back unit are never delivered; the others' only after COMMIT.
    expect(delivered).toEqual(['unit-a', 'unit-c']);
  });

  it("rolls back a group's first unit that fails after writing, and commits the units queued behind it", async () => {
    const { ctx, committed, write, delivered } = setup();
    const first = ctx.tx(async () => {
      write('unit-x');
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('boom');
    });
    const b = ctx.tx(() => write('unit-b'));
    const c = ctx.tx(() => write('unit-c'));
    await expect(first).rejects.toThrow('boom');
    await Promise.all([b, c]);
    expect(committed()).toEqual(['unit-b', 'unit-c']);
    expect(delivered).toEqual(['unit-b', 'unit-c']);
  });

  it('commits a unit that runs alone at once, and later units in a new transaction', async () => {
    const { ctx, committed, write } = setup();
    await ctx.tx(() => write('unit-1'));
    expect(committed()).toEqual(['unit-1']);
    await expect(ctx.tx(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    await ctx.tx(() => write('unit-2'));
    expect(committed()).toEqual(['unit-1', 'unit-2']);
  });

  it('commits the units before a unit that waits on the network, without waiting for it', async () => {
    const { ctx, committed, write } = setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const a = ctx.tx(() => write('unit-a'));
    const slow = ctx.tx(
      async () => {
        await gate;
        write('unit-slow');
      },
      { alone: true },
    );
    await a;
    expect(committed()).toEqual(['unit-a']);
    release();
    await slow;
    expect(committed()).toEqual(['unit-a', 'unit-slow']);
  });

  it('fails a unit, instead of leaving it pending, when the database cannot even begin', async () => {
    const { ctx } = setup();
    ctx.db.close();
    await expect(ctx.tx(() => 'never runs')).rejects.toThrow();
  });
});
