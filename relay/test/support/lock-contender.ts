/**
 * One process contending for an embedded data folder (data-dir-lock.test.ts). For each of ROUNDS rounds it
 * waits until START_AT + round × ROUND_MS (epoch ms; every contender tries at the same moment), takes the
 * lock or is refused, prints `ROUND locked` or `ROUND refused`, and releases a lock it took a third of a
 * round later. The test plants a dead process's lock before each round.
 */
import { lockDataDir } from '../../src/store/data-dir-lock.js';

const [dir = '', startAt = '0', rounds = '1', roundMs = '300'] = process.argv.slice(2);
const sleepUntil = async (at: number) => {
  // A timer to just before, then a short spin: a timer alone jitters by a millisecond or more.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now() - 3)));
  while (Date.now() < at) {
    // spin
  }
};
for (let round = 0; round < Number(rounds); round++) {
  const at = Number(startAt) + round * Number(roundMs);
  await sleepUntil(at);
  try {
    const release = await lockDataDir(dir);
    process.stdout.write(`${round} locked\n`);
    await sleepUntil(at + Number(roundMs) / 3);
    await release();
  } catch (err) {
    process.stdout.write(
      `${round} ${err instanceof Error && err.name === 'DataDirInUseError' ? 'refused' : String(err)}\n`,
    );
  }
}
