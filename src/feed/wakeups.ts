// Readers with nothing to read wait here until an append touches one of their partitions, their
// group's leases move, their time runs out or the server shuts down. Woken by the log's own
// notification (EventLog.onAppend), never by polling on a timer.
import type { PartitionId } from '../core/message.js';

interface Waiter {
  readonly group: string;
  readonly partitions: ReadonlySet<PartitionId>;
  readonly wake: () => void;
}

export class Wakeups {
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  /**
   * Counts notifications. A reader notes it before reading and passes it to `wait`: if anything
   * happened while it read (possible once a backend's reads do real I/O), it looks again at once.
   */
  version = 0;

  /** Resolves when woken, after `ms`, when `signal` aborts, or at once after close. */
  wait(group: string, partitions: ReadonlySet<PartitionId>, ms: number, seenVersion: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || ms <= 0 || signal?.aborted || seenVersion !== this.version) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        this.waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { group, partitions, wake };
      // Timers beyond 2^31 ms fire at once; "until a lease lapses" may be Infinity.
      const timer = setTimeout(wake, Math.min(ms, 2 ** 31 - 1));
      signal?.addEventListener('abort', wake, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** After an append: wakes readers of those partitions, whatever their group. */
  appended(partitions: ReadonlySet<PartitionId>): void {
    this.version++;
    for (const w of this.waiters) {
      for (const p of w.partitions) {
        if (partitions.has(p)) {
          w.wake();
          break;
        }
      }
    }
  }

  /** After leases of a group moved (or it was deleted or repositioned): its readers look again. */
  groupChanged(group: string): void {
    this.version++;
    for (const w of this.waiters) if (w.group === group) w.wake();
  }

  /** Wakes everyone; later waits return at once. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters) w.wake();
  }
}
