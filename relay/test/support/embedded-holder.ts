/**
 * Child process for embedded.test.ts: starts the embedded database in the folder given as its argument,
 * prints the socket's path and then holds it until killed (the test kills it with SIGKILL, as a crash).
 */
import { startEmbeddedPostgres } from '../../src/store/embedded.js';

const dataDir = process.argv[2];
if (!dataDir) {
  throw new Error('usage: embedded-holder.ts DATA_DIR');
}
const db = await startEmbeddedPostgres(dataDir);
process.stdout.write(`${db.path}\n`);
setInterval(() => undefined, 60_000);
