/**
 * Child process of core-bench.ts: the receiving user, in its own process as on its own machine.
 * Reads one JSON line on stdin ({ dir, secrets, marks }), opens the profile with those secrets in memory,
 * connects and prints `{"ready":true}`. Each time the count of received messages reaches one of `marks`
 * it prints `{"received":N,"at":EPOCH_MS}`. On a `close` line it closes the profile and prints its
 * secrets (the refresh token rotated while it ran) and its CPU time, then exits.
 */
import { createInterface } from 'node:readline';
import { Profile } from '../src/core/profile.js';
import { MemorySecretStore } from '../src/core/secrets/secret-store.js';

interface Setup {
  dir: string;
  secrets: Record<string, string>;
  marks: number[];
}

const say = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const setup = JSON.parse(String((await lines.next()).value)) as Setup;
const store = new MemorySecretStore();
store.assign(setup.secrets);
const messenger = await new Profile(setup.dir, { secretStore: store }).openMessenger();
const marks = new Set(setup.marks);
let received = 0;
messenger.on((event) => {
  if (event.type === 'message') {
    received += 1;
    if (marks.has(received)) {
      say({ received, at: performance.timeOrigin + performance.now() });
    }
  }
});
await messenger.connect({ timeoutMs: 60_000 });
const cpuStart = process.cpuUsage();
say({ ready: true });
for (let line = await lines.next(); !line.done && line.value !== 'close'; line = await lines.next()) {
  // only `close` is understood
}
const cpu = process.cpuUsage(cpuStart);
await messenger.close();
say({ closed: true, secrets: store.entries(), cpuMs: (cpu.user + cpu.system) / 1000 });
process.exit(0);
