// uda.NAME(expr) as an Aggregator: each group holds one instance of the JavaScript aggregate
// (this.init at the group's first event, this.accumulate per event, this.computeResult at the
// window's end, this.deaccumulate when a sliding window lets an event go). A checkpoint holds the
// instance's fields (save); a restored group revives its instance the first time it is used.
import type { Evaluator, Frame } from '../dataflow/frame.js';
import { SAVE_STATE, SavedState } from '../dataflow/state-codec.js';
import type { EventDiagnosticCode } from '../model/errors.js';
import type { Value } from '../model/values.js';
import type { Aggregator } from './aggregate-functions.js';
import { UserFunctionFailure, type UserAggregateInstance, type UserDefinedAggregate } from './user-functions.js';

export type UserFunctionReporter = (code: EventDiagnosticCode, message: string) => void;

/** A group's state: the live instance, or none when creating it failed (the group then yields NULL). */
class UserAggregateState {
  constructor(readonly instance: UserAggregateInstance | null, private readonly saveFailed: UserFunctionReporter) {}

  [SAVE_STATE](): unknown {
    if (this.instance === null) return null;
    try {
      return this.instance.save();
    } catch (e) {
      // The group starts afresh after a restore; what it had accumulated is lost, and said so.
      this.saveFailed(...failure(e, 'saving the state for a checkpoint'));
      return null;
    }
  }
}

export function createUserAggregator(uda: UserDefinedAggregate, value: Evaluator, report: UserFunctionReporter): Aggregator {
  const fresh = (): UserAggregateState => {
    try {
      return new UserAggregateState(uda.create(), report);
    } catch (e) {
      report(...failure(e, 'init'));
      return new UserAggregateState(null, report);
    }
  };
  const live = (s: unknown): UserAggregateState => {
    if (s instanceof UserAggregateState) return s;
    const saved = s instanceof SavedState ? (s.data as Value) : null;
    if (saved === null) return fresh();
    try {
      return new UserAggregateState(uda.restore(saved), report);
    } catch (e) {
      report(...failure(e, 'restoring the state from a checkpoint'));
      return fresh();
    }
  };
  const step = (method: 'accumulate' | 'deaccumulate') => (s: unknown, f: Frame): unknown => {
    const state = live(s);
    if (state.instance === null) return state;
    try {
      state.instance[method](value(f), f.ts);
    } catch (e) {
      report(...failure(e, method));
    }
    return state;
  };
  const aggregator: Aggregator = {
    init: fresh,
    add: step('accumulate'),
    result: (s) => {
      const state = live(s);
      if (state.instance === null) return null;
      try {
        return state.instance.result();
      } catch (e) {
        report(...failure(e, 'computeResult'));
        return null;
      }
    },
  };
  return uda.deaccumulates ? { ...aggregator, remove: step('deaccumulate') } : aggregator;
}

function failure(e: unknown, during: string): [EventDiagnosticCode, string] {
  if (!(e instanceof UserFunctionFailure)) throw e;
  return [e.timedOut ? 'USER_FUNCTION_TIMED_OUT' : 'USER_FUNCTION_FAILED', `${during}: ${e.message}`];
}
