// The ECharts options of the chart tiles, from the data the transforms made (lib/tile-data.ts).
// Numbers on axes, labels and tooltips are written in the tile's format.
import { formatAxisValue, formatValue, type FormatSpec } from '../../lib/number-format.js';
import type { FunnelData, HeatmapGrid, Series, TopCategories } from '../../lib/tile-data.js';
import type { ChartOption } from '../charts.js';
import type { Theme } from '../theme.js';

/** Colours that read on light and dark alike. */
const PALETTE = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#f97316', '#64748b'];
const BASE = { backgroundColor: 'transparent', color: PALETTE, animationDuration: 300, animationDurationUpdate: 300, textStyle: { fontFamily: 'inherit' } } as const;
// Every series has an id: an update then changes the series drawn (a transition) instead of
// drawing them anew, which would replay the entrance animation with every row.
/** Labels stay inside the chart (what `containLabel` was before ECharts 6). */
const GRID = { left: 8, right: 16, bottom: 8, outerBoundsMode: 'same', outerBoundsContain: 'axisLabel' } as const;

const HEAT: Readonly<Record<Theme, readonly string[]>> = {
  light: ['#eef4fb', '#7fb2e5', '#1d5fa8'],
  dark: ['#18263a', '#2f6db3', '#8cc7ff'],
};

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function valueFormatter(spec: FormatSpec): (v: unknown) => string {
  return (v) => formatValue(Array.isArray(v) ? num(v[v.length - 1]) : num(v), spec);
}

export function lineOption(series: readonly Series[], spec: FormatSpec): ChartOption {
  const legend = series.length > 1;
  return {
    ...BASE,
    grid: { ...GRID, top: legend ? 36 : 12 },
    tooltip: { trigger: 'axis', valueFormatter: valueFormatter(spec), confine: true },
    legend: { show: legend, type: 'scroll', top: 0 },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', minInterval: spec.format === 'count' ? 1 : 0, axisLabel: { formatter: (v: number) => formatAxisValue(v, spec) } },
    series: series.map((s) => ({
      type: 'line', id: `line:${s.name}`, name: s.name, data: s.points.map((p) => [p[0], p[1]]),
      showSymbol: s.points.length < 40, symbolSize: 5, emphasis: { focus: 'series' },
    })),
  };
}

/** Horizontal bars, the largest on top, each with its value. */
export function barOption(top: TopCategories, spec: FormatSpec): ChartOption {
  // Room at the right for the longest value label (`1m 05s`, `€1,234.50`).
  const longest = Math.max(0, ...top.items.map((i) => formatValue(i.value, spec).length));
  return {
    ...BASE,
    grid: { ...GRID, top: 8, right: Math.min(120, 16 + 7 * longest) },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: valueFormatter(spec), confine: true },
    xAxis: { type: 'value', minInterval: spec.format === 'count' ? 1 : 0, axisLabel: { formatter: (v: number) => formatAxisValue(v, spec), hideOverlap: true } },
    yAxis: { type: 'category', inverse: true, data: top.items.map((i) => i.name), axisLabel: { width: 140, overflow: 'truncate' } },
    series: [{
      type: 'bar', id: 'bar', data: top.items.map((i) => i.value), barMaxWidth: 28,
      label: { show: true, position: 'right', formatter: (p: { value?: unknown }) => formatValue(num(p.value), spec) },
    }],
  };
}

/** A ring of the largest categories, the rest as one slice. */
export function pieOption(top: TopCategories, spec: FormatSpec, otherLabel: string): ChartOption {
  const data = top.items.map((i) => ({ name: i.name, value: i.value }));
  if (top.rest) data.push({ name: otherLabel, value: top.rest.value });
  return {
    ...BASE,
    tooltip: { trigger: 'item', valueFormatter: valueFormatter(spec), confine: true },
    series: [{
      type: 'pie', id: 'pie', radius: ['34%', '60%'], center: ['50%', '52%'], avoidLabelOverlap: true, data, percentPrecision: 0,
      // Labels against the tile's edges, cut there: a narrow tile keeps them inside.
      label: { formatter: '{b} {d}%', alignTo: 'edge', edgeDistance: 4, minMargin: 4, overflow: 'truncate' },
      labelLine: { length: 10, length2: 0, maxSurfaceAngle: 80 },
    }],
  };
}

/** The steps in order, each with its value and its share of the first step. */
export function funnelOption(funnel: FunnelData, spec: FormatSpec): ChartOption {
  const first = funnel.steps[0]?.value ?? 0;
  const share = (v: number): string => (first > 0 ? ` (${formatValue(v / first, { format: 'percent', currency: spec.currency })})` : '');
  return {
    ...BASE,
    tooltip: { trigger: 'item', valueFormatter: valueFormatter(spec), confine: true },
    series: [{
      type: 'funnel', id: 'funnel', sort: 'none', left: '4%', right: '4%', top: 8, bottom: 8, gap: 2, minSize: '40%',
      data: funnel.steps.map((s) => ({ name: s.name, value: s.value })),
      label: {
        position: 'inside', color: '#fff', textBorderWidth: 0, overflow: 'truncate',
        formatter: (p: { name?: string; value?: unknown; dataIndex?: number }) => `${p.name ?? ''}: ${formatValue(num(p.value), spec)}${p.dataIndex === 0 ? '' : share(num(p.value))}`,
      },
    }],
  };
}

/** Times across, `y` values down, the value as colour. */
export function heatmapOption(grid: HeatmapGrid, spec: FormatSpec, theme: Theme): ChartOption {
  const small = grid.x.length * grid.y.length <= 48;
  return {
    ...BASE,
    grid: { ...GRID, top: 8, bottom: 48 },
    tooltip: {
      trigger: 'item', confine: true,
      formatter: (p: unknown) => {
        const d = (p as { data?: unknown }).data;
        if (!Array.isArray(d)) return '';
        return `${grid.y[num(d[1])] ?? ''} · ${grid.x[num(d[0])] ?? ''}: ${formatValue(num(d[2]), spec)}`;
      },
    },
    xAxis: { type: 'category', data: [...grid.x], splitArea: { show: true }, axisLabel: { hideOverlap: true } },
    yAxis: { type: 'category', data: [...grid.y], splitArea: { show: true }, axisLabel: { width: 110, overflow: 'truncate' } },
    visualMap: {
      type: 'continuous', min: grid.min, max: grid.max === grid.min ? grid.min + 1 : grid.max, calculable: false,
      orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, inRange: { color: [...HEAT[theme]] },
      formatter: (v: unknown) => formatAxisValue(num(v), spec),
    },
    series: [{ type: 'heatmap', id: 'heatmap', data: grid.cells.map((c) => [c[0], c[1], c[2]]), label: { show: small, formatter: (p: { data?: unknown }) => (Array.isArray(p.data) ? formatAxisValue(num(p.data[2]), spec) : '') } }],
  };
}
