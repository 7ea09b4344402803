// The chart tiles: line, bar, pie, funnel and heatmap, drawn with ECharts, with a line of notes
// under the chart (lines left out, categories past the top, the funnel's conversion), each summed
// up from the data it draws (a line's newest values, the top categories, the steps, the newest column).
import { formatValue } from '../../lib/number-format.js';
import { funnelData, heatmapGrid, lineSeries, newestTimestamps, topCategories } from '../../lib/tile-data.js';
import { formatClock } from '../../lib/time-format.js';
import type { OutputRow, TileType } from '../../lib/wire.js';
import { Chart } from '../charts.js';
import { h } from '../dom.js';
import { barOption, funnelOption, heatmapOption, lineOption, pieOption } from './chart-options.js';
import { iso, type Named, type TileBody, type TileContext, type TileSummary } from './tile-body.js';

type ChartType = Exclude<TileType, 'card' | 'table'>;

/** A line or heatmap tile whose rows are all older than the range. */
function nothingInRange(rows: readonly OutputRow[], ctx: TileContext): string {
  const [newest] = newestTimestamps(rows, 1);
  const when = newest === undefined ? '' : `; the newest is from ${formatClock(newest, ctx.nowMs)}`;
  return `No rows in the ${ctx.range.label.toLowerCase()}${when}.`;
}

export function chartBody(type: ChartType): TileBody {
  const canvas = h('div', { class: `chart chart-${type}` });
  const note = h('p', { class: 'tile-note' });
  const el = h('div', { class: 'chart-body' }, canvas, note);
  const chart = new Chart(canvas);
  return {
    el,
    draw(rows, fields, ctx) {
      const notes: string[] = [];
      let summary: TileSummary;
      switch (type) {
        case 'line': {
          const { series, omitted } = lineSeries(rows, fields.value!, fields.key, ctx.combine, ctx.sinceMs);
          if (series.length === 0) return nothingInRange(rows, ctx);
          if (omitted > 0) notes.push(`The ${series.length} largest lines of ${series.length + omitted}`);
          chart.show(lineOption(series, ctx.format), ctx.theme);
          const newest = series.map((s) => s.points[s.points.length - 1]);
          summary = { series: series.map((s, i): Named => [s.name, newest[i]?.[1] ?? null]), at: iso(Math.max(...newest.map((p) => p?.[0] ?? -Infinity))) };
          break;
        }
        case 'bar':
        case 'pie': {
          const top = topCategories(rows, fields.value!, fields.key!, ctx.combine, ctx.spec.top);
          if (top.items.length === 0 || top.timestampMs === null) return 'No values to show yet.';
          const other = top.rest ? `${top.rest.count} more` : '';
          if (type === 'bar') {
            if (top.rest) notes.push(`and ${other}, ${formatValue(top.rest.value, ctx.format)} together`);
            chart.show(barOption(top, ctx.format), ctx.theme);
          } else {
            chart.show(pieOption(top, ctx.format, `Other (${top.rest?.count ?? 0})`), ctx.theme);
          }
          notes.push(`at ${formatClock(top.timestampMs, ctx.nowMs)}`);
          summary = { top: top.items.map((i): Named => [i.name, i.value]), at: iso(top.timestampMs) };
          break;
        }
        case 'funnel': {
          const funnel = funnelData(rows, fields.steps, ctx.spec.labels, ctx.combine);
          if (funnel.steps.length === 0 || funnel.timestampMs === null) return 'No values to show yet.';
          const first = funnel.steps[0]!, last = funnel.steps[funnel.steps.length - 1]!;
          notes.push(funnel.conversion === null
            ? `No conversion yet: ${first.name} is 0`
            : `Conversion ${first.name} → ${last.name}: ${formatValue(funnel.conversion, { format: 'percent', currency: ctx.format.currency })}`);
          notes.push(`at ${formatClock(funnel.timestampMs, ctx.nowMs)}`);
          chart.show(funnelOption(funnel, ctx.format), ctx.theme);
          summary = { steps: funnel.steps.map((s): Named => [s.name, s.value]), at: iso(funnel.timestampMs) };
          break;
        }
        case 'heatmap': {
          const grid = heatmapGrid(rows, fields.value!, fields.y!, ctx.combine, ctx.sinceMs);
          if (grid.cells.length === 0) return nothingInRange(rows, ctx);
          chart.show(heatmapOption(grid, ctx.format, ctx.theme), ctx.theme);
          const last = grid.xMs.length - 1;
          const newest = new Map(grid.cells.filter((c) => c[0] === last).map((c) => [c[1], c[2]]));
          summary = { rows: grid.y.map((name, yi): Named => [name, newest.get(yi) ?? null]), at: iso(grid.xMs[last]!) };
          break;
        }
      }
      note.textContent = notes.join(' · ');
      return summary;
    },
    dispose() {
      chart.dispose();
    },
  };
}
