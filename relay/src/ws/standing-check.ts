import type { Services } from '../context.js';
import { toLogFormat } from '../logger.js';
import { socketStandings } from '../store/tokens.js';
import type { DeviceSession } from './session.js';

/** A check that failed (Postgres unreachable) is tried again this much later. */
const RETRY_MS = 1000;

/**
 * Asks Postgres whether every authenticated socket of this instance still stands: its token family is live
 * (else it closes with `revoked`) and it is still its device's newest socket (else `connectedElsewhere`).
 * Revocations and takeovers normally travel through the fan-out; this catches the ones it may have lost:
 * run when the fan-out resyncs (another instance's Redis connection dropped, or ours) and at each heartbeat
 * while the fan-out is down. One batched query for all sockets, however many there are.
 */
export class StandingCheck {
  private running: Promise<void> | undefined;
  /** Asked again while running: what the running check read may predate what prompted the new request. */
  private again = false;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly services: Services,
    private readonly sessions: () => Iterable<DeviceSession>,
  ) {}

  /** Checks every authenticated socket; resolves when done (a check already running is followed by one more). */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.checkAll();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  private async checkAll(): Promise<void> {
    const sessions = [...this.sessions()].filter((s) => s.device !== undefined);
    if (sessions.length === 0 || this.stopped) {
      return;
    }
    // Taken before the read: a socket whose connect is recorded only after it may still see its predecessor.
    const recorded = sessions.map((s) => s.connectRecorded);
    let standings: Awaited<ReturnType<typeof socketStandings>>;
    try {
      standings = await socketStandings(
        this.services.sql,
        sessions.map((s) => s.device as NonNullable<DeviceSession['device']>),
      );
    } catch (err) {
      // Postgres unreachable too: keep the sockets and ask again shortly.
      this.services.logger.warn({ err: toLogFormat(err) }, 'socket standing check failed; retrying');
      clearTimeout(this.retry);
      this.retry = setTimeout(() => void this.run(), RETRY_MS);
      this.retry.unref();
      return;
    }
    let closed = 0;
    sessions.forEach((session, i) => {
      const standing = standings[i];
      if (standing && session.applyStanding(standing, recorded[i] === true)) {
        closed += 1;
      }
    });
    if (closed > 0) {
      this.services.logger.info({ checked: sessions.length, closed }, 'sockets closed by the standing check');
    }
  }
}
