// ECharts, modular: the core, the five chart types and four components the tiles use, and the
// Canvas renderer — nothing else is bundled. A Chart follows its element's size (the grid reflows
// on a phone, the window resizes) and the page's theme.
import { BarChart, FunnelChart, HeatmapChart, LineChart, PieChart } from 'echarts/charts';
import type { BarSeriesOption, FunnelSeriesOption, HeatmapSeriesOption, LineSeriesOption, PieSeriesOption } from 'echarts/charts';
import { GridComponent, LegendScrollComponent, TooltipComponent, VisualMapContinuousComponent } from 'echarts/components';
import type { GridComponentOption, LegendComponentOption, TooltipComponentOption, VisualMapComponentOption } from 'echarts/components';
import { init, use, type ComposeOption, type EChartsType } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { type Theme } from './theme.js';

use([LineChart, BarChart, PieChart, FunnelChart, HeatmapChart, GridComponent, TooltipComponent, LegendScrollComponent, VisualMapContinuousComponent, CanvasRenderer]);

export type ChartOption = ComposeOption<
  | LineSeriesOption | BarSeriesOption | PieSeriesOption | FunnelSeriesOption | HeatmapSeriesOption
  | GridComponentOption | TooltipComponentOption | LegendComponentOption | VisualMapComponentOption
>;

export class Chart {
  private chart: EChartsType | null = null;
  private theme: Theme | null = null;
  private pending: ChartOption | null = null;
  private readonly observer: ResizeObserver;

  constructor(private readonly el: HTMLElement) {
    // An element without a size (a hidden tile) would give ECharts a zero-sized canvas: the
    // option waits until the element has one.
    this.observer = new ResizeObserver(() => {
      if (this.el.clientWidth === 0 || this.el.clientHeight === 0) return;
      if (this.pending && this.theme) this.show(this.pending, this.theme);
      else this.chart?.resize();
    });
    this.observer.observe(el);
  }

  /** Draws `option` in `theme`; series not in it are removed. */
  show(option: ChartOption, theme: Theme): void {
    if (this.chart && this.theme !== theme) {
      // A theme is fixed when a chart is made: switching makes it again.
      this.chart.dispose();
      this.chart = null;
    }
    this.theme = theme;
    if (this.el.clientWidth === 0 || this.el.clientHeight === 0) {
      this.pending = option;
      return;
    }
    this.pending = null;
    this.chart ??= init(this.el, theme === 'dark' ? 'dark' : null, { renderer: 'canvas' });
    this.chart.setOption(option, { replaceMerge: ['series'], lazyUpdate: true });
  }

  dispose(): void {
    this.observer.disconnect();
    this.chart?.dispose();
    this.chart = null;
    this.pending = null;
  }
}
