import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { toLogFormat } from '../logger.js';
import {
  type DeviceAddress,
  deviceKey,
  type Fanout,
  type FanoutEvent,
  type FanoutHandler,
  LocalHub,
} from './fanout.js';

interface Wire {
  /** Publishing instance; it already delivered locally, so it skips its own message. */
  o: string;
  e: FanoutEvent;
}

/**
 * Redis pub/sub fan-out: one channel per device; an instance subscribes to the devices connected to it.
 * Local subscribers are rung directly. `commands` fails fast while Redis is down (no offline queue), so a
 * send never waits on Redis; `subscriber` reconnects and resubscribes by itself (ioredis).
 */
export class RedisFanout implements Fanout {
  private readonly hub = new LocalHub();
  private readonly instance = randomUUID();
  readonly commands: Redis;
  private readonly subscriber: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly onReconnect: () => void = () => {},
  ) {
    const retryStrategy = (times: number) => Math.min(100 * times, 1000);
    // Auto-pipelining: the doorbells and rate-limit calls of concurrent sends share one write per tick.
    this.commands = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy,
      enableAutoPipelining: true,
    });
    this.subscriber = new Redis(url, { maxRetriesPerRequest: null, retryStrategy, autoResubscribe: true });
    let wasDown = false;
    for (const client of [this.commands, this.subscriber]) {
      client.on('error', (err) => {
        this.logger.debug({ err: toLogFormat(err) }, 'redis error');
      });
      client.on('close', () => {
        wasDown = true;
      });
    }
    this.subscriber.on('ready', () => {
      if (wasDown) {
        wasDown = false;
        this.logger.info('redis back: ringing every local device');
        this.onReconnect();
      }
    });
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  private channel(to: DeviceAddress): string {
    return `${this.prefix}dev:${deviceKey(to)}`;
  }

  private onMessage(channel: string, message: string): void {
    const key = channel.slice(`${this.prefix}dev:`.length);
    const sep = key.lastIndexOf(':');
    const to = { accountId: key.slice(0, sep), deviceId: Number(key.slice(sep + 1)) };
    let wire: Wire;
    try {
      wire = JSON.parse(message) as Wire;
    } catch {
      return;
    }
    if (wire.o !== this.instance) {
      this.hub.deliver(to, wire.e);
    }
  }

  async publish(to: DeviceAddress, event: FanoutEvent): Promise<void> {
    queueMicrotask(() => this.hub.deliver(to, event));
    try {
      await this.commands.publish(this.channel(to), JSON.stringify({ o: this.instance, e: event } satisfies Wire));
    } catch (err) {
      this.logger.debug({ err: toLogFormat(err) }, 'redis publish failed; the fallback doorbell covers it');
    }
  }

  subscribe(to: DeviceAddress, handler: FanoutHandler): () => void {
    if (this.hub.add(to, handler)) {
      this.subscriber.subscribe(this.channel(to)).catch((err: unknown) => {
        this.logger.debug({ err: toLogFormat(err) }, 'redis subscribe failed');
      });
    }
    return () => {
      if (this.hub.remove(to, handler)) {
        this.subscriber.unsubscribe(this.channel(to)).catch(() => undefined);
      }
    };
  }

  deliverLocal(to: DeviceAddress, event: FanoutEvent): void {
    this.hub.deliver(to, event);
  }

  localDevices(): DeviceAddress[] {
    return this.hub.devices();
  }

  healthy(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.commands.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    this.commands.disconnect();
  }
}
