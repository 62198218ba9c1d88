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
 */
export class FallbackDoorbell {
  private timer: NodeJS.Timeout | undefined;
  private degraded = false;
  private lastId = 0;
  private busy = false;

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

  private async tick(): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = true;
    try {
      if (this.fanout.healthy()) {
        if (this.degraded) {
          this.degraded = false;
          this.logger.info('fan-out healthy again');
          this.ringAll();
        }
        return;
      }
      if (!this.degraded) {
        this.lastId = await maxEnvelopeId(this.sql);
        this.degraded = true;
        this.logger.warn('fan-out unhealthy: polling connected devices\u2019 queues');
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
