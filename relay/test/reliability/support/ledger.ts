import type { ExactlyOnceReceiver } from './exactly-once-receiver.js';
import type { SequentialSender } from './sequential-sender.js';

export interface LedgerResult {
  sent: number;
  accepted: number;
  delivered: number;
  /** Accepted (200) but never displayed. */
  lost: number;
  /** The same message displayed twice: the same GUID twice, or two GUIDs for a send that got a clear answer. */
  duplicated: number;
  /** Resends after a network error that the relay had in fact stored (libsignal drops these as duplicates). */
  ambiguousResends: number;
  /** Displayed before an earlier message of the same conversation. */
  reordered: number;
  redelivered: number;
  /** Time of the last first display. */
  lastDeliveryAt: number;
  /** Envelopes of earlier bursts still queued (resends stored late); not part of this ledger. */
  leftovers: number;
  /** What the first few reorderings looked like (for the report). */
  reorderExamples: string[];
}

/** Compares what the senders got a 200 for with what the exactly-once receivers displayed. */
export function evaluate(senders: SequentialSender[], receivers: ExactlyOnceReceiver[]): LedgerResult {
  const result: LedgerResult = {
    sent: 0,
    accepted: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    ambiguousResends: 0,
    reordered: 0,
    redelivered: 0,
    lastDeliveryAt: 0,
    leftovers: 0,
    reorderExamples: [],
  };
  const bySender = new Map(senders.map((s) => [s.key, s]));
  for (const r of receivers) {
    result.duplicated += r.displayedTwice;
    result.redelivered += r.redelivered;
    result.delivered += r.deliveries.length;
    const seen = new Map<string, Set<number>>();
    const highest = new Map<string, number>();
    for (const d of r.deliveries) {
      if (!bySender.has(d.sender)) {
        result.leftovers += 1;
        result.delivered -= 1;
        continue;
      }
      result.lastDeliveryAt = Math.max(result.lastDeliveryAt, d.at);
      const seqs = seen.get(d.sender) ?? new Set<number>();
      seen.set(d.sender, seqs);
      if (seqs.has(d.seq)) {
        if (bySender.get(d.sender)?.ambiguous.has(d.seq)) {
          result.ambiguousResends += 1;
        } else {
          result.duplicated += 1;
        }
        continue;
      }
      seqs.add(d.seq);
      const top = highest.get(d.sender) ?? 0;
      if (d.seq < top) {
        result.reordered += 1;
        if (result.reorderExamples.length < 5) {
          const sender = bySender.get(d.sender);
          const topDelivery = r.deliveries.find((x) => x.sender === d.sender && x.seq === top);
          result.reorderExamples.push(
            `seq ${d.seq} (guid ${d.guid.slice(0, 8)}, accepted as ${sender?.accepted.get(d.seq)?.slice(0, 8)}, ` +
              `server ${d.serverTimestamp}) shown after seq ${top} (server ${topDelivery?.serverTimestamp})` +
              `${sender?.ambiguous.has(d.seq) ? ' [ambiguous send]' : ''}`,
          );
        }
      }
      highest.set(d.sender, Math.max(top, d.seq));
    }
  }
  const receiverOf = new Map(receivers.map((r) => [`${r.device.accountId}:${r.device.deviceId}`, r]));
  for (const s of senders) {
    result.sent += s.sent;
    result.accepted += s.accepted.size;
    const r = receiverOf.get(`${s.to.accountId}:${s.to.deviceId}`);
    for (const guid of s.accepted.values()) {
      if (!r?.has(guid)) {
        result.lost += 1;
      }
    }
  }
  return result;
}
