import type { Logger } from '../logger.js';
import { toLogFormat } from '../logger.js';
import type { Sql } from '../store/db.js';
import { devicesWithMailSince, maxEnvelopeId } from '../store/messages.js';
import type { Fanout } from './fanout.js';

const LOOKBACK = 1000;

/**
 * While the fan-out is unhealthy (Redis down), polls Postgres for envelopes newer than the last seen queue
 * position and rings the local devices that have some. On entering and leaving the degraded state it rings
 * every local device once, which covers doorbells lost in the switch.
 *
 * While it is healthy, a safety net: each poll rings the local devices that still hold envelopes committed
 * before the previous poll. A live device acks within milliseconds, so this rings almost nobody; it catches
 * a doorbell lost without this instance noticing (the sending instance alone lost Redis, and is still cut
 * off), so such mail is late by two polls at most, never until something else rings.
 */
export class FallbackDoorbell {
  private timer: NodeJS.Timeout | undefined;
  private degraded = false;
  private lastId = 0;
  private busy = false;
  /** Healthy: the ids committed between the last two polls, checked at the next one. */
  private committed: { from: number; to: number } | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly fanout: Fanout,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  ringAll(): void {
    for (const device of this.fanout.localDevices()) {
      this.fanout.deliverLocal(device, { kind: 'mail' });
    }
  }

  private async safetyNet(): Promise<void> {
    const to = await maxEnvelopeId(this.sql);
    const previous = this.committed;
    this.committed = { from: previous?.to ?? to, to };
    if (!previous || previous.to <= previous.from || this.fanout.localDevices().length === 0) {
      return;
    }
    const { devices } = await devicesWithMailSince(this.sql, previous.from, previous.to);
    for (const device of devices) {
      this.fanout.deliverLocal(device, { kind: 'mail' });
    }
  }

  private async tick(): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = true;
    try {
      if (this.fanout.healthy()) {
        if (this.degraded) {
          this.degraded = false;
          this.committed = undefined;
          this.logger.info('fan-out healthy again');
          this.ringAll();
        }
        await this.safetyNet();
        return;
      }
      if (!this.degraded) {
        this.lastId = await maxEnvelopeId(this.sql);
        this.degraded = true;
        const problem = this.fanout.problem() ?? 'unreachable';
        this.logger.warn(
          { problem, pollMs: this.intervalMs },
          `Redis ${problem}: until it is back, each instance finds new mail by polling Postgres every ` +
            `${this.intervalMs} ms (messages arrive later, none is lost); check REDIS_URL and that Redis is running`,
        );
        this.ringAll();
        return;
      }
      if (this.fanout.localDevices().length === 0) {
        this.lastId = await maxEnvelopeId(this.sql);
        return;
      }
      // Look back a little: a transaction holding a lower id may commit after one holding a higher id.
      const { devices, maxId } = await devicesWithMailSince(this.sql, Math.max(0, this.lastId - LOOKBACK));
      this.lastId = Math.max(this.lastId, maxId);
      for (const device of devices) {
        this.fanout.deliverLocal(device, { kind: 'mail' });
      }
    } catch (err) {
      this.logger.debug({ err: toLogFormat(err) }, 'fallback doorbell poll failed');
    } finally {
      this.busy = false;
    }
  }
}
