import type { ProfileApi } from '../core/messenger-types.js';
import { Profile } from '../core/profile.js';

/**
 * The one place main obtains the core. The profile lives in `<userData>/profile`; its database key
 * goes to the OS keychain (or a passphrase file when SOTTO_DB_PASSPHRASE is set, see core/secrets).
 */
export async function createProfileApi(dataDir: string): Promise<ProfileApi> {
  return new Profile(dataDir);
}
