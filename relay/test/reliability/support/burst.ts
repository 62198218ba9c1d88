import { randomBytes } from 'node:crypto';
import type { TestDevice } from '../../support/client.js';
import { ExactlyOnceReceiver } from './exactly-once-receiver.js';
import { evaluate, type LedgerResult } from './ledger.js';
import { type SendAttemptStats, SequentialSender, sleep } from './sequential-sender.js';

export interface Pair {
  sender: TestDevice;
  receiver: TestDevice;
}

export interface BurstOptions {
  pairs: Pair[];
  messagesPerSender: number;
  /** Spread each sender's messages over about this long, so that they are in flight during the fault. */
  spreadMs: number;
  senderUrls: (index: number) => string[];
  receiverUrls: (index: number) => string[];
  dropBeforeAck?: number;
  deadAfterMs?: number;
  /** Runs the fault once the burst is under way; resolves when the fault has ended. */
  fault: () => Promise<void>;
  /** Bound on the whole burst, and on catching up after it. */
  sendDeadlineMs: number;
  catchUpMs: number;
}

export interface BurstResult extends LedgerResult {
  /**
   * Time to recovery after the fault ended: until the backlog accepted before then was all displayed, or
   * until the first send after it was accepted, whichever is later (0 if neither waited on the fault).
   */
  recoveryMs: number;
  caughtUp: boolean;
  sends: SendAttemptStats;
  reconnects: number;
  unsent: number;
}

/** A burst of numbered messages from each sender to its receiver with a fault in the middle, and the ledger after it. */
export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const receivers = options.pairs.map(
    (p, i) =>
      new ExactlyOnceReceiver(p.receiver, {
        urls: options.receiverUrls(i),
        dropBeforeAck: options.dropBeforeAck ?? 0,
        deadAfterMs: options.deadAfterMs ?? 4000,
      }),
  );
  for (const r of receivers) {
    r.start();
  }
  const readyBy = Date.now() + 10_000;
  while (!receivers.every((r) => r.connected) && Date.now() < readyBy) {
    await sleep(50);
  }
  const tag = randomBytes(4).toString('hex');
  const senders = options.pairs.map(
    (p, i) => new SequentialSender(p.sender, p.receiver, { urls: options.senderUrls(i), tag }),
  );
  const deadline = Date.now() + options.sendDeadlineMs;
  const pause = Math.max(0, Math.floor(options.spreadMs / options.messagesPerSender));
  const sending = Promise.all(senders.map((s) => s.run(options.messagesPerSender, deadline, pause)));
  await sleep(Math.min(1000, options.spreadMs / 4));
  await options.fault();
  const faultEnded = Date.now();
  await sending;
  const caughtUp = (
    await Promise.all(receivers.map((r, i) => r.waitForAll(senders[i]?.accepted.values() ?? [], options.catchUpMs)))
  ).every(Boolean);
  // A moment for late duplicates to show up before counting.
  await sleep(500);
  for (const r of receivers) {
    r.stop();
  }
  const ledger = evaluate(senders, receivers);
  const sends: SendAttemptStats = {
    ok: 0,
    unavailable: 0,
    rateLimited: 0,
    networkErrors: 0,
    serverErrors: 0,
    rejected: 0,
  };
  for (const s of senders) {
    for (const k of Object.keys(sends) as (keyof SendAttemptStats)[]) {
      sends[k] += s.stats[k];
    }
  }
  let recoveredAt = faultEnded;
  senders.forEach((s, i) => {
    const receiver = receivers[i];
    let firstAfter = Number.POSITIVE_INFINITY;
    for (const [seq, at] of s.acceptedAt) {
      if (at >= faultEnded) {
        firstAfter = Math.min(firstAfter, at);
        continue;
      }
      const guid = s.accepted.get(seq);
      const shown = receiver?.deliveries.find((d) => d.guid === guid)?.at ?? Number.POSITIVE_INFINITY;
      recoveredAt = Math.max(recoveredAt, shown);
    }
    if (Number.isFinite(firstAfter)) {
      recoveredAt = Math.max(recoveredAt, firstAfter);
    }
  });
  return {
    ...ledger,
    recoveryMs: Number.isFinite(recoveredAt) ? recoveredAt - faultEnded : -1,
    caughtUp,
    sends,
    reconnects: receivers.reduce((n, r) => n + Math.max(0, r.connects - 1), 0),
    unsent: senders.reduce((n, s) => n + (options.messagesPerSender - s.sent), 0),
  };
}
