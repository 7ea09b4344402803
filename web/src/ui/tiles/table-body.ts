// A table: the newest timestamp's rows, the configured columns in order, largest first (by the
// tile's `value` when it names one). The tile's `format` writes the `value` column, or every
// numeric column when there is no `value`; other numeric columns are written as plain numbers.
import { formatValue, NO_VALUE } from '../../lib/number-format.js';
import { tableData, toNumber } from '../../lib/tile-data.js';
import { h } from '../dom.js';
import { iso, type TileBody } from './tile-body.js';

function cellText(v: unknown): string {
  if (v === null || v === undefined) return NO_VALUE;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function tableBody(): TileBody {
  const table = h('table');
  const note = h('p', { class: 'tile-note' });
  const el = h('div', { class: 'table-body' }, h('div', { class: 'table-wrap' }, table), note);
  return {
    el,
    draw(rows, fields, ctx) {
      const t = tableData(rows, fields.columns, ctx.spec.columns ?? fields.columns, ctx.spec.top, fields.value);
      const plain = { format: 'number', currency: ctx.format.currency } as const;
      const formatOf = (i: number) => (fields.value === null || fields.columns[i] === fields.value ? ctx.format : plain);
      const head = h('tr', null, t.showTenant ? h('th', { scope: 'col' }, 'tenant') : null,
        t.columns.map((c, i) => h('th', { scope: 'col', class: t.numeric[i] ? 'num' : null }, c)));
      const body = t.rows.map((r) => h('tr', null, t.showTenant ? h('td', { class: 'tenant' }, r.tenant) : null,
        r.cells.map((v, i) => (t.numeric[i]
          ? h('td', { class: 'num' }, formatValue(toNumber(v), formatOf(i)))
          : h('td', null, cellText(v))))));
      table.replaceChildren(h('thead', null, head), h('tbody', null, body));
      note.textContent = t.total > t.rows.length ? `The top ${t.rows.length} of ${t.total} rows` : '';
      if (t.timestampMs === null) return 'No rows to show yet.';
      return { columns: t.showTenant ? ['tenant', ...t.columns] : t.columns, rows: t.rows.map((r) => (t.showTenant ? [r.tenant, ...r.cells] : r.cells)), at: iso(t.timestampMs) };
    },
    dispose() {},
  };
}
