// A card: the newest timestamp's value, big, and its change against the timestamp before.
import { changeOf, formatChange, formatValue } from '../../lib/number-format.js';
import { cardData } from '../../lib/tile-data.js';
import { formatClock } from '../../lib/time-format.js';
import { h } from '../dom.js';
import { iso, type TileBody } from './tile-body.js';

export function cardBody(): TileBody {
  const value = h('div', { class: 'card-value' });
  const change = h('div', { class: 'card-change' });
  const note = h('div', { class: 'card-note' });
  const el = h('div', { class: 'card-body' }, value, change, note);
  return {
    el,
    draw(rows, fields, ctx) {
      const data = cardData(rows, fields.value!, ctx.combine);
      if (data.value === null || data.timestampMs === null) return 'No value to show yet.';
      value.textContent = formatValue(data.value, ctx.format);
      const c = formatChange(changeOf(data.value, data.previous, ctx.format.format));
      change.textContent = c.text;
      change.dataset.direction = c.direction;
      note.textContent = data.previous === null || data.previousMs === null
        ? `at ${formatClock(data.timestampMs, ctx.nowMs)}`
        : `at ${formatClock(data.timestampMs, ctx.nowMs)}, against ${formatValue(data.previous, ctx.format)} at ${formatClock(data.previousMs, ctx.nowMs)}`;
      return { value: data.value, at: iso(data.timestampMs) };
    },
    dispose() {},
  };
}
