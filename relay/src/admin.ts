#!/usr/bin/env node
import { once } from 'node:events';
import { Command, InvalidArgumentError } from 'commander';
import { deleteAccountEverywhere } from './account-deletion.js';
import { BlobStore } from './blobs/blob-store.js';
import { type Env, EnvError, loadEnv } from './env.js';
import type { Fanout } from './fanout/fanout.js';
import { LocalFanout } from './fanout/local-fanout.js';
import { RedisFanout } from './fanout/redis-fanout.js';
import { createLogger } from './logger.js';
import { findAccountByUsername } from './store/accounts.js';
import { createSql, type Sql } from './store/db.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './store/embedded.js';
import { createInvite, listInvites, revokeInvite } from './store/invites.js';
import { migrate } from './store/migrate.js';
import { relayStats } from './store/stats.js';

/**
 * The relay's admin CLI (`npm run relay:admin -- <command>`, or `sotto-relay-admin` in the image). It reads
 * the relay's own environment (DATABASE_URL, REDIS_URL, BLOB_DIR, ...). Without DATABASE_URL it opens the
 * embedded database in SOTTO_DATA_DIR, which only works while that relay is stopped.
 */

const out = (line: string) => process.stdout.write(`${line}\n`);
const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

class AdminError extends Error {}

interface Context {
  env: Env;
  sql: Sql;
}

async function withDatabase<T>(run: (ctx: Context) => Promise<T>): Promise<T> {
  const env = loadEnv();
  let embedded: EmbeddedPostgres | undefined;
  let sql: Sql;
  if (env.DATABASE_URL) {
    sql = createSql(env.DATABASE_URL, { max: 2 });
  } else {
    embedded = await startEmbeddedPostgres(env.SOTTO_DATA_DIR);
    if (embedded.warning) {
      process.stderr.write(`warning: ${embedded.warning}\n`);
    }
    sql = embedded.connect();
  }
  try {
    await migrate(sql);
    return await run({ env, sql });
  } finally {
    await sql.end({ timeout: 5 });
    await embedded?.stop();
  }
}

/** A fan-out that reaches running relays (through Redis) so a deleted user's sockets close at once. */
async function connectFanout(env: Env): Promise<{ fanout: Fanout; live: boolean }> {
  if (!env.REDIS_URL) {
    return { fanout: new LocalFanout(), live: false };
  }
  const fanout = new RedisFanout(env.REDIS_URL, env.REDIS_PREFIX, createLogger('silent'));
  if (fanout.commands.status !== 'ready') {
    const timeout = AbortSignal.timeout(5000);
    await once(fanout.commands, 'ready', { signal: timeout }).catch(() => undefined);
  }
  return { fanout, live: fanout.commands.status === 'ready' };
}

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError('a positive whole number');
  }
  return n;
};

function buildProgram(): Command {
  const program = new Command('sotto-relay-admin')
    .description('Administer a Sotto relay (reads the relay environment: DATABASE_URL, REDIS_URL, BLOB_DIR, ...)')
    .showHelpAfterError();

  const invite = program.command('invite').description('single-use invite codes (REGISTRATION_POLICY=invite)');
  invite
    .command('create')
    .description('create invite codes and print them (they are stored only as hashes)')
    .option('-n, --count <n>', 'how many codes', positiveInt, 1)
    .option('--ttl-days <days>', 'expire unused codes after this many days', positiveInt)
    .action((opts: { count: number; ttlDays?: number }) =>
      withDatabase(async ({ sql }) => {
        for (let i = 0; i < opts.count; i++) {
          const ttl = opts.ttlDays === undefined ? undefined : opts.ttlDays * 24 * 3600 * 1000;
          out(await createInvite(sql, Date.now(), ttl));
        }
      }),
    );
  invite
    .command('list')
    .description('list invites (created, expires, used); the codes themselves are not stored')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withDatabase(async ({ sql }) => {
        const rows = await listInvites(sql);
        if (opts.json) {
          out(JSON.stringify(rows));
          return;
        }
        out('created                   expires                   used');
        for (const r of rows) {
          out(`${iso(r.createdAt)}  ${iso(r.expiresAt).padEnd(24)}  ${iso(r.usedAt)}`);
        }
        out(`${rows.length} invite(s), ${rows.filter((r) => r.usedAt === null).length} unused`);
      }),
    );
  invite
    .command('revoke')
    .description('revoke an unused invite code')
    .argument('<code>', 'the code as printed by `invite create`')
    .action((code: string) =>
      withDatabase(async ({ sql }) => {
        if (!(await revokeInvite(sql, code))) {
          throw new AdminError('no such unused invite code');
        }
        out('invite revoked');
      }),
    );

  const user = program.command('user').description('accounts');
  user
    .command('delete')
    .description("delete a user: devices, keys, queued envelopes, tokens and blobs; closes the user's sockets")
    .argument('<username>')
    .action((username: string) =>
      withDatabase(async ({ env, sql }) => {
        const account = await findAccountByUsername(sql, username);
        if (!account) {
          throw new AdminError(`no user named ${username}`);
        }
        const blobs = await BlobStore.open(env);
        const { fanout, live } = await connectFanout(env);
        try {
          await deleteAccountEverywhere({ sql, blobs, fanout }, account.id);
        } finally {
          await fanout.close();
        }
        out(`deleted ${account.username} (${account.id})`);
        if (env.REDIS_URL && !live) {
          process.stderr.write('warning: Redis unreachable; open sockets close at their next reconnect\n');
        } else if (!env.REDIS_URL) {
          out(
            `their open sockets close within ${Math.ceil(env.WS_HEARTBEAT_MS / 1000)} s (no Redis to tell the relay at once)`,
          );
        }
      }),
    );

  program
    .command('stats')
    .description('print counts: accounts, devices, queued envelopes, blobs, invites')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withDatabase(async ({ sql }) => {
        const stats = await relayStats(sql, Date.now());
        if (opts.json) {
          out(JSON.stringify(stats));
          return;
        }
        out(`accounts           ${stats.accounts}`);
        out(`devices            ${stats.devices}`);
        out(`queued envelopes   ${stats.queuedEnvelopes}`);
        out(`blobs              ${stats.blobs} (${(stats.blobBytes / 1024 / 1024).toFixed(1)} MiB)`);
        out(`incomplete uploads ${stats.incompleteUploads}`);
        out(`unused invites     ${stats.unusedInvites}`);
      }),
    );
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    if (err instanceof EnvError || err instanceof AdminError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err instanceof EnvError ? 2 : 1);
    }
    process.stderr.write(`admin command failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
