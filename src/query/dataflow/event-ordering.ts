// The event-ordering policy of a job, with the cloud service's defaults.
import type { DurationMs } from '../model/time.js';

export type OutOfOrderAction = 'adjust' | 'drop';

export interface EventOrderingPolicy {
  /** Max (arrival time − event time); later events are adjusted or dropped. −1 waits indefinitely. */
  readonly lateArrivalToleranceMs: DurationMs;
  /** How far behind the latest event time an event may be and still be reordered. */
  readonly outOfOrderToleranceMs: DurationMs;
  /** What happens to events outside the tolerances. */
  readonly outOfOrderAction: OutOfOrderAction;
}

export const defaultEventOrderingPolicy: EventOrderingPolicy = {
  lateArrivalToleranceMs: 5_000,
  outOfOrderToleranceMs: 0,
  outOfOrderAction: 'adjust',
};

/** Events stamped more than this ahead of their arrival are dropped (fixed in the cloud service). */
export const earlyArrivalLimitMs: DurationMs = 5 * 60_000;
