import {
  type DeviceAddress,
  type DevicesChangedHandler,
  type Fanout,
  type FanoutEvent,
  type FanoutHandler,
  LocalHub,
  type OrderPoint,
} from './fanout.js';

const IN_ORDER: OrderPoint = {
  recorded: Promise.resolve(),
  whenPassed: (then) => queueMicrotask(() => then(true)),
};

/** In-process fan-out for the single-node embedded default. */
export class LocalFanout implements Fanout {
  private readonly hub = new LocalHub();
  private devicesChanged: DevicesChangedHandler = () => {};
  private stamps = 0;

  async publish(to: DeviceAddress, event: FanoutEvent): Promise<void> {
    // Asynchronous like the Redis path, so publishers never run subscriber code inline.
    queueMicrotask(() => this.hub.deliver(to, event));
  }

  /** In one process every doorbell is delivered in order: nothing to wait for. */
  orderPoint(): OrderPoint {
    return IN_ORDER;
  }

  async announceDevicesChanged(accountId: string): Promise<void> {
    this.devicesChanged(accountId);
  }

  onDevicesChanged(handler: DevicesChangedHandler): void {
    this.devicesChanged = handler;
  }

  stamp(): number {
    this.stamps += 1;
    return this.stamps;
  }

  /** In one process no doorbell is ever lost. */
  trustsCopies(): boolean {
    return true;
  }

  subscribe(to: DeviceAddress, handler: FanoutHandler): () => void {
    this.hub.add(to, handler);
    return () => {
      this.hub.remove(to, handler);
    };
  }

  deliverLocal(to: DeviceAddress, event: FanoutEvent): void {
    this.hub.deliver(to, event);
  }

  localDevices(): DeviceAddress[] {
    return this.hub.devices();
  }

  healthy(): boolean {
    return true;
  }

  problem(): string | undefined {
    return undefined;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
