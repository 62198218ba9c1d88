/**
 * Child process of catchup-bench.ts: opens a profile, connects and waits until the relay's queue is
 * drained. Prints one JSON line with the timings. Run with `--cpu-prof` to see where the time goes.
 */
import { Profile } from '../src/core/profile.js';
import { PassphraseSecretStore } from '../src/core/secrets/passphrase-secret-store.js';

const [dir, passphrase] = process.argv.slice(2);
if (!dir || !passphrase) {
  throw new Error('usage: catchup-child.ts PROFILE_DIR PASSPHRASE');
}
const start = performance.now();
const messenger = await new Profile(dir, { secretStore: new PassphraseSecretStore(dir, passphrase) }).openMessenger();
const opened = performance.now();
const cpuBefore = process.cpuUsage();
let messages = 0;
let firstMessageMs = 0;
messenger.on((event) => {
  if (event.type === 'message') {
    messages += 1;
    firstMessageMs ||= performance.now() - opened;
  }
});
await messenger.connect({ timeoutMs: 600_000 });
await messenger.whenDrained();
const drained = performance.now();
const cpu = process.cpuUsage(cpuBefore);
await messenger.close();
process.stdout.write(
  `${JSON.stringify({ openMs: opened - start, drainMs: drained - opened, totalMs: drained - start, cpuMs: (cpu.user + cpu.system) / 1000, firstMessageMs, messages })}\n`,
);
process.exit(0);
