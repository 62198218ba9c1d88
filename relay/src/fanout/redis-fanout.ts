import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { toLogFormat } from '../logger.js';
import {
  type DeviceAddress,
  type DevicesChangedHandler,
  deviceKey,
  type Fanout,
  type FanoutEvent,
  type FanoutHandler,
  forOtherInstances,
  LocalHub,
} from './fanout.js';

/**
 * On the wire: the publishing instance's id, a space, then the payload. The publisher already delivered
 * locally, so it skips its own messages (by the prefix, without parsing them).
 */
const SEPARATOR = ' ';

/**
 * Redis pub/sub fan-out: one channel per device; an instance subscribes to the devices connected to it,
 * and every instance to the channel announcing device-list changes. Local subscribers are rung directly.
 * `commands` fails fast while Redis is down (no offline queue), so a send never waits on Redis;
 * `subscriber` reconnects and resubscribes by itself (ioredis).
 */
export class RedisFanout implements Fanout {
  private readonly hub = new LocalHub();
  private readonly instance = randomUUID();
  private readonly ownPrefix = `${this.instance}${SEPARATOR}`;
  private readonly devicesChannel: string;
  private devicesChanged: DevicesChangedHandler = () => {};
  readonly commands: Redis;
  private readonly subscriber: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly onReconnect: () => void = () => {},
  ) {
    this.devicesChannel = `${prefix}devices-changed`;
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
        // Announcements may be lost from now on: nothing cached may be trusted.
        this.devicesChanged(undefined);
      });
    }
    this.subscriber.on('ready', () => {
      if (wasDown) {
        wasDown = false;
        this.logger.info('redis back: ringing every local device');
        this.devicesChanged(undefined);
        this.onReconnect();
      }
    });
    this.subscriber.subscribe(this.devicesChannel).catch((err: unknown) => {
      this.logger.debug({ err: toLogFormat(err) }, 'redis subscribe failed');
    });
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  private channel(to: DeviceAddress): string {
    return `${this.prefix}dev:${deviceKey(to)}`;
  }

  private onMessage(channel: string, message: string): void {
    if (message.startsWith(this.ownPrefix)) {
      return;
    }
    const payload = message.slice(message.indexOf(SEPARATOR) + 1);
    if (channel === this.devicesChannel) {
      this.devicesChanged(payload);
      return;
    }
    const key = channel.slice(`${this.prefix}dev:`.length);
    const sep = key.lastIndexOf(':');
    const to = { accountId: key.slice(0, sep), deviceId: Number(key.slice(sep + 1)) };
    let event: FanoutEvent;
    try {
      event = JSON.parse(payload) as FanoutEvent;
    } catch {
      return;
    }
    this.hub.deliver(to, event);
  }

  async publish(to: DeviceAddress, event: FanoutEvent): Promise<void> {
    const here = this.hub.has(to);
    queueMicrotask(() => this.hub.deliver(to, event));
    if (here && event.kind === 'mail') {
      return;
    }
    await this.send(this.channel(to), JSON.stringify(forOtherInstances(event)));
  }

  async announceDevicesChanged(accountId: string): Promise<void> {
    this.devicesChanged(accountId);
    await this.send(this.devicesChannel, accountId);
  }

  onDevicesChanged(handler: DevicesChangedHandler): void {
    this.devicesChanged = handler;
  }

  private async send(channel: string, payload: string): Promise<void> {
    try {
      await this.commands.publish(channel, `${this.ownPrefix}${payload}`);
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
