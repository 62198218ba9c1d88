import type { BlobStore } from './blobs/blob-store.js';
import type { Fanout } from './fanout/fanout.js';
import { deleteAccount } from './store/accounts.js';
import type { Sql } from './store/db.js';

export interface AccountDeletionDeps {
  sql: Sql;
  blobs: BlobStore;
  fanout: Fanout;
}

/**
 * Deletes an account with everything it owns: rows (devices, keys, queues, tokens, attachment metadata)
 * in one transaction, then its sockets on every instance are closed and its blob files removed.
 * Used by `DELETE /v1/accounts/me` and the admin CLI. False when there was no such account.
 */
export async function deleteAccountEverywhere(deps: AccountDeletionDeps, accountId: string): Promise<boolean> {
  const deleted = await deleteAccount(deps.sql, accountId);
  if (!deleted) {
    return false;
  }
  await deps.fanout.announceDevicesChanged(accountId);
  await Promise.all(
    deleted.devices.map((deviceId) => deps.fanout.publish({ accountId, deviceId }, { kind: 'revoke' })),
  );
  await deps.blobs.remove(deleted.attachmentIds);
  return true;
}
