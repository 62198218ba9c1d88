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
  type OrderPoint,
} from './fanout.js';

/**
 * On the wire: the publishing instance's id, a dot, its connection epoch, a space, then the payload (on a
 * device's channel, one event as JSON or a JSON array of the events of one pass of the event loop). The
 * publisher already delivered locally, so it skips its own messages (by the prefix, without parsing them).
 * The epoch changes whenever the publisher's Redis connection dropped: its doorbells published meanwhile
 * failed, so a subscriber that sees a new epoch must stop trusting copies until its sockets re-read.
 */
const SEPARATOR = ' ';
/** Published on the devices channel when a connection (re)opens, so other instances learn the epoch at once. */
const HELLO = '';
/** Resyncs within this long ring the local devices once. */
const RESYNC_RING_DELAY_MS = 100;
/** Epochs remembered (instances come and go; forgetting one only costs one resync). */
const MAX_KNOWN_INSTANCES = 10_000;
/** A Redis command not answered by then fails (the send behind it goes on without it). */
const COMMAND_TIMEOUT_MS = 2000;
/** A barrier not back by then is given up: its mail rings bare doorbells instead. */
const BARRIER_TIMEOUT_MS = 2000;

/** A message this instance publishes to itself: see `ringHere`. */
class Barrier implements OrderPoint {
  recorded: Promise<void> = Promise.resolve();
  timer: NodeJS.Timeout | undefined;
  /** Back (true) or given up (false); undefined while on its way. */
  #passed: boolean | undefined;
  readonly #waiting: ((passed: boolean) => void)[] = [];

  whenPassed(then: (passed: boolean) => void): void {
    const passed = this.#passed;
    if (passed === undefined) {
      this.#waiting.push(then);
    } else {
      queueMicrotask(() => then(passed));
    }
  }

  /**
   * Runs the waiting copies' deliveries at once, not in a microtask: the subscriber may have read the barrier
   * together with a copy another instance published after it, which ioredis hands over next, in the same turn.
   */
  pass(passed: boolean): void {
    if (this.#passed === undefined) {
      this.#passed = passed;
      for (const then of this.#waiting.splice(0)) {
        then(passed);
      }
    }
  }
}

/**
 * Redis pub/sub fan-out: one channel per device; an instance subscribes to the devices connected to it,
 * and every instance to the channel announcing device-list changes. Local subscribers are rung directly.
 * `commands` fails fast while Redis is down (no offline queue), so a send never waits on Redis;
 * `subscriber` reconnects and resubscribes by itself (ioredis).
 */
export class RedisFanout implements Fanout {
  private readonly hub = new LocalHub();
  private readonly instance = randomUUID();
  private readonly ownPrefix = `${this.instance}.`;
  /** Counts this instance's command-connection drops (see SEPARATOR). */
  private epoch = 0;
  /** The last epoch seen from each other instance. */
  private readonly epochs = new Map<string, string>();
  /** The last error either Redis client reported (its message names the address, never the password). */
  private lastError: string | undefined;
  private readonly devicesChannel: string;
  private readonly barrierChannel: string;
  private barrierIds = 0;
  /** Barriers raised and not back yet, by id. */
  private readonly barriers = new Map<number, Barrier>();
  /** The barrier of this turn, not raised yet. */
  private collecting: Barrier | undefined;
  private stamps = 0;
  /** Events for other instances' devices waiting for the end of this pass of the event loop, by channel. */
  private readonly outgoing = new Map<string, { events: string[]; sent: Promise<void> }>();
  /** When the subscriber connection was last (re)subscribed to every channel; undefined while it is not. */
  private settledAt: number | undefined;
  /** When each device's channel subscription was confirmed by Redis. */
  private readonly confirmedAt = new Map<string, number>();
  private devicesChanged: DevicesChangedHandler = () => {};
  /** A ring of every local device, pending after a resync. */
  private ringTimer: NodeJS.Timeout | undefined;
  readonly commands: Redis;
  private readonly subscriber: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
    /** Called after a resync (once per burst): any event published meanwhile may have been lost. */
    private readonly onReconnect: () => void = () => {},
  ) {
    this.devicesChannel = `${prefix}devices-changed`;
    this.barrierChannel = `${prefix}barrier:${this.instance}`;
    const retryStrategy = (times: number) => Math.min(100 * times, 1000);
    // Auto-pipelining: the doorbells and rate-limit calls of concurrent sends share one write per tick.
    this.commands = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy,
      enableAutoPipelining: true,
      // A connection that stays open but stops answering would hold every command for ever (and, pipelined,
      // every later one behind it): a barrier not recorded held its sends until their deadline.
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    this.subscriber = new Redis(url, { maxRetriesPerRequest: null, retryStrategy, autoResubscribe: true });
    for (const client of [this.commands, this.subscriber]) {
      client.on('error', (err) => {
        this.lastError = err.message;
        this.logger.debug({ err: toLogFormat(err) }, 'redis error');
      });
    }
    this.commands.on('close', () => {
      // Our doorbells and announcements may be lost from now on: a new epoch tells the other instances.
      this.epoch += 1;
      this.devicesChanged(undefined);
    });
    let wasDown = false;
    this.subscriber.on('close', () => {
      wasDown = true;
      // Announcements and doorbells may be lost from now on: nothing cached, no copy may be trusted.
      this.settledAt = undefined;
      this.devicesChanged(undefined);
    });
    // Other instances learn a new epoch from our first publish; this one makes it immediate.
    this.commands.on('ready', () => void this.send(this.devicesChannel, HELLO));
    this.subscriber.on('ready', () => {
      if (wasDown) {
        wasDown = false;
        // ioredis resubscribes every channel in one command right after 'ready'; a SUBSCRIBE sent now is
        // answered after it, so once it is, every channel listens again.
        this.subscriber
          .subscribe(this.barrierChannel)
          .then(() => {
            this.settle();
            this.resync('redis back: ringing every local device');
          })
          .catch((err: unknown) => this.logger.debug({ err: toLogFormat(err) }, 'redis resubscribe failed'));
      }
    });
    this.subscriber
      .subscribe(this.devicesChannel, this.barrierChannel)
      .then(() => this.settle())
      .catch((err: unknown) => {
        this.logger.debug({ err: toLogFormat(err) }, 'redis subscribe failed');
      });
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  private channel(to: DeviceAddress): string {
    return `${this.prefix}dev:${deviceKey(to)}`;
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.barrierChannel) {
      this.passBarrier(Number(message), true);
      return;
    }
    if (message.startsWith(this.ownPrefix)) {
      return;
    }
    const separator = message.indexOf(SEPARATOR);
    this.checkEpoch(message.slice(0, separator));
    const payload = message.slice(separator + 1);
    if (channel === this.devicesChannel) {
      if (payload !== HELLO) {
        this.devicesChanged(payload);
      }
      return;
    }
    const key = channel.slice(`${this.prefix}dev:`.length);
    const sep = key.lastIndexOf(':');
    const to = { accountId: key.slice(0, sep), deviceId: Number(key.slice(sep + 1)) };
    let events: FanoutEvent | FanoutEvent[];
    try {
      events = JSON.parse(payload) as FanoutEvent | FanoutEvent[];
    } catch {
      return;
    }
    for (const event of Array.isArray(events) ? events : [events]) {
      this.hub.deliver(to, event);
    }
  }

  /**
   * A publisher we have not heard from, or whose connection dropped since (a new epoch), may have lost
   * doorbells and device-list announcements while this instance stayed connected: forget cached device
   * lists, stop trusting copies, and make every local socket read its queue.
   */
  private checkEpoch(publisher: string): void {
    const dot = publisher.lastIndexOf('.');
    const instance = publisher.slice(0, dot);
    const epoch = publisher.slice(dot + 1);
    if (this.epochs.get(instance) === epoch) {
      return;
    }
    if (this.epochs.size >= MAX_KNOWN_INSTANCES) {
      this.epochs.clear();
    }
    this.epochs.set(instance, epoch);
    this.resync('another instance reconnected to redis: ringing every local device');
  }

  private resync(reason: string): void {
    if (this.settledAt !== undefined) {
      // (Still undefined while our own subscriber is resubscribing: its own resync follows.)
      this.settle();
    }
    this.devicesChanged(undefined);
    // After a Redis restart every instance says hello at about the same time: one ring for the burst, not
    // one per instance (each ring makes every local socket read its queue). Copies are distrusted meanwhile.
    if (!this.ringTimer) {
      this.logger.info(reason);
      this.ringTimer = setTimeout(() => {
        this.ringTimer = undefined;
        this.onReconnect();
      }, RESYNC_RING_DELAY_MS);
      this.ringTimer.unref();
    }
  }

  async publish(to: DeviceAddress, event: FanoutEvent, order?: OrderPoint): Promise<void> {
    if (event.kind === 'mail' && this.hub.has(to)) {
      await this.ringHere(to, event, order);
      return;
    }
    queueMicrotask(() => this.hub.deliver(to, event));
    await this.sendToDevice(this.channel(to), JSON.stringify(forOtherInstances(event)));
  }

  /**
   * The events for one device's channel from one pass of the event loop go out as one PUBLISH (a JSON array
   * when there are several), in the order they were published. A busy sender's envelopes to one device
   * commit together, and a PUBLISH each, with its message to decode on the other side, was the largest cost
   * of delivering across instances. Each caller still resolves only once its event is in Redis.
   */
  private sendToDevice(channel: string, payload: string): Promise<void> {
    let batch = this.outgoing.get(channel);
    if (!batch) {
      const events: string[] = [];
      const sent = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.outgoing.delete(channel);
        return this.send(channel, events.length === 1 ? (events[0] as string) : `[${events.join(',')}]`);
      });
      batch = { events, sent };
      this.outgoing.set(channel, batch);
    }
    batch.events.push(payload);
    return batch.sent;
  }

  /**
   * Mail for a device connected here is not sent through Redis, but its copy must not overtake a doorbell
   * that another instance published earlier for the same device (a sender that got its 200 there and then
   * sent again here expects its messages in that order). Redis delivers to our subscriber connection in the
   * order it received the publishes, so the copy waits for a barrier: a message this instance published to
   * itself when the send started (`orderPoint`, one per pass of the event loop, raised while the INSERT runs). When
   * it is back, every doorbell published before the send started has been delivered here; and the send
   * answers only once the barrier is in Redis, so none published after its 200 can come before it.
   * Without a barrier (Redis down) the copy is dropped and the socket reads its queue, in commit order.
   */
  private async ringHere(to: DeviceAddress, event: FanoutEvent & { kind: 'mail' }, order?: OrderPoint): Promise<void> {
    if (!event.queued || !order) {
      queueMicrotask(() => this.hub.deliver(to, { kind: 'mail' }));
      return;
    }
    order.whenPassed((passed) => this.hub.deliver(to, passed ? event : { kind: 'mail' }));
    await order.recorded;
  }

  orderPoint(): OrderPoint | undefined {
    if (!this.healthy()) {
      return undefined;
    }
    if (!this.collecting) {
      // One barrier for every send that starts in this pass of the event loop, raised once its I/O callbacks
      // ran (each socket's frames arrive in a callback of their own: a barrier per callback was a barrier
      // per send at peak, 17,000 PUBLISHes a second, each with its timer and its message back).
      const barrier = new Barrier();
      this.collecting = barrier;
      barrier.recorded = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.raiseBarrier(barrier));
    }
    return this.collecting;
  }

  private async raiseBarrier(barrier: Barrier): Promise<void> {
    this.collecting = undefined;
    const id = this.barrierIds++;
    this.barriers.set(id, barrier);
    barrier.timer = setTimeout(() => this.passBarrier(id, false), BARRIER_TIMEOUT_MS);
    barrier.timer.unref();
    try {
      await this.commands.publish(this.barrierChannel, String(id));
    } catch {
      this.passBarrier(id, false);
    }
  }

  /** The barrier is back (or, passed = false, given up: its copies become bare doorbells). */
  private passBarrier(id: number, passed: boolean): void {
    const barrier = this.barriers.get(id);
    if (barrier) {
      this.barriers.delete(id);
      clearTimeout(barrier.timer);
      barrier.pass(passed);
    }
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
      await this.commands.publish(channel, `${this.ownPrefix}${this.epoch}${SEPARATOR}${payload}`);
    } catch (err) {
      this.logger.debug({ err: toLogFormat(err) }, 'redis publish failed; the fallback doorbell covers it');
    }
  }

  subscribe(to: DeviceAddress, handler: FanoutHandler): () => void {
    const key = deviceKey(to);
    if (this.hub.add(to, handler)) {
      this.subscriber
        .subscribe(this.channel(to))
        .then(() => {
          if (this.hub.has(to)) {
            this.confirmedAt.set(key, this.stamp());
            // A doorbell published while the SUBSCRIBE was on its way was not heard, and the socket's first
            // queue read may have run before that mail committed: it reads the queue once more.
            this.hub.deliver(to, { kind: 'mail' });
          }
        })
        .catch((err: unknown) => {
          this.logger.debug({ err: toLogFormat(err) }, 'redis subscribe failed');
        });
    }
    return () => {
      if (this.hub.remove(to, handler)) {
        this.confirmedAt.delete(key);
        this.subscriber.unsubscribe(this.channel(to)).catch(() => undefined);
      }
    };
  }

  stamp(): number {
    this.stamps += 1;
    return this.stamps;
  }

  /**
   * A copy may be sent only if no earlier doorbell for the device can have been lost: the device's channel
   * was listening (confirmed, and not interrupted since) before the socket's last queue read started.
   */
  trustsCopies(to: DeviceAddress, readStamp: number): boolean {
    const confirmed = this.confirmedAt.get(deviceKey(to));
    return (
      this.healthy() &&
      this.settledAt !== undefined &&
      confirmed !== undefined &&
      Math.max(confirmed, this.settledAt) < readStamp
    );
  }

  private settle(): void {
    this.settledAt = this.stamp();
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

  problem(): string | undefined {
    return this.healthy() ? undefined : (this.lastError ?? `not connected (${this.commands.status})`);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.commands.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.ringTimer);
    this.subscriber.disconnect();
    this.commands.disconnect();
  }
}
