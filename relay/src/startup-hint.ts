import type { Env } from './env.js';

/**
 * What the operator should do about an error that stopped the relay from starting (Postgres unreachable or
 * refusing, the port taken, a directory it may not write), or undefined when it is none of those. Names the
 * variable to look at; never repeats DATABASE_URL whole (it may hold a password).
 */
export function startupHint(err: unknown, env: Pick<Env, 'DATABASE_URL' | 'PORT' | 'HOST'>): string | undefined {
  if (!(err instanceof Error)) {
    return undefined;
  }
  const { code, path, syscall } = err as Error & { code?: string; path?: string; syscall?: string };
  const db = env.DATABASE_URL ? new URL(env.DATABASE_URL) : undefined;
  const server = db ? `${db.hostname}:${db.port || '5432'}` : '';
  const user = db ? decodeURIComponent(db.username) || 'the default user' : '';
  const database = db ? decodeURIComponent(db.pathname.slice(1)) || user : '';
  switch (code) {
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      // Redis never stops a start (the fallback doorbell covers it): a network error here is Postgres.
      return db
        ? `cannot reach Postgres at ${server} (DATABASE_URL): ${code}. Start Postgres or correct DATABASE_URL; ` +
            'leave DATABASE_URL empty to use the embedded database instead'
        : undefined;
    case '28P01':
      return `Postgres at ${server} refused the password of user "${user}" (DATABASE_URL)`;
    case '28000':
      return `Postgres at ${server} does not let user "${user}" in (DATABASE_URL): ${err.message}`;
    case '3D000':
      return `there is no database "${database}" on ${server} (DATABASE_URL): create it (createdb ${database}) or correct DATABASE_URL`;
    case 'SOTTO_DATA_DIR_IN_USE':
      return err.message;
    case 'EADDRINUSE':
      return `${env.HOST}:${env.PORT} is already in use (HOST, PORT): stop what listens there or choose another PORT`;
    case 'EADDRNOTAVAIL':
      return `${env.HOST} is not an address of this machine (HOST): use 0.0.0.0, 127.0.0.1 or one of its addresses`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'ENOTDIR':
    case 'ENOSPC':
      if (syscall === 'listen') {
        return `not allowed to listen on port ${env.PORT} (PORT): use a port above 1023 or run behind your reverse proxy`;
      }
      return path
        ? `cannot create or write ${path} (${code}): point SOTTO_DATA_DIR (and BLOB_DIR) at a directory the relay's ` +
            'user can write, with free space'
        : undefined;
    default:
      return undefined;
  }
}
