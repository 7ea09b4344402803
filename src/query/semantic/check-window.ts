// A window's durations: whole milliseconds, at most 7 days, hops and timeouts within the size.
import { assertNever, QueryError } from '../model/errors.js';
import { durationOf } from '../model/time.js';
import type { Duration, WindowSpec } from '../syntax/ast.js';

const sevenDays = 7 * 86_400_000;

export function checkWindow(w: WindowSpec): void {
  switch (w.kind) {
    case 'tumbling': check(w.size); return;
    case 'hopping': {
      const size = check(w.size), hop = check(w.hop);
      if (hop > size) throw new QueryError('INVALID_ARGUMENT', 'the hop of a hopping window cannot exceed its size', w.hop.position);
      return;
    }
    case 'sliding': check(w.size); return;
    case 'session': {
      const timeout = check(w.timeout), max = check(w.maxDuration);
      if (timeout > max) throw new QueryError('INVALID_ARGUMENT', 'the timeout of a session window cannot exceed its maximum duration', w.timeout.position);
      return;
    }
    case 'snapshot': return;
    default: assertNever(w);
  }
}

function check(d: Duration): number {
  const ms = durationOf(d.unit, d.amount);
  if (!(ms >= 1) || ms > sevenDays || !Number.isInteger(ms)) {
    throw new QueryError('INVALID_ARGUMENT', 'a window size is a whole number of milliseconds, at most 7 days', d.position);
  }
  return ms;
}
