/**
 * Static charts for reports, drawn by ECharts in Node (server-side SVG, no browser) and rasterised to
 * PNG by sharp:
 *
 *   lineBandChart   one line per series (the mean over seeds at each x) with a shaded band
 *                   [mean − std, mean + std] for the seed spread
 *   barChart        one bar per category (mean over seeds) with an error bar of ± std
 */
import * as echarts from 'echarts';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic.js';

/** One series of a {@link lineBandChart}: at each x the mean and the standard deviation over seeds. */
export interface BandSeries {
  name: string;
  x: readonly number[];
  mean: readonly number[];
  std: readonly number[];
}

/** One bar of a {@link barChart}. */
export interface Bar {
  name: string;
  mean: number;
  std: number;
}

/** Title, axis names and size of a chart. */
export interface ChartLabels {
  title: string;
  xName: string;
  yName: string;
  width?: number;
  height?: number;
}

const PALETTE = ['#5470c6', '#ee6666', '#91cc75', '#fac858', '#73c0de', '#9a60b4', '#fc8452', '#3ba272'];

/** Renders an ECharts option to an SVG string (server-side, no animation). */
function renderSvg(option: echarts.EChartsCoreOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, backgroundColor: '#ffffff', color: PALETTE, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const frame = (l: ChartLabels) => ({
  title: { text: l.title, left: 10, textStyle: { fontSize: 14 } },
  grid: { left: 70, right: 20, top: 70, bottom: 50 },
  yAxis: { type: 'value', name: l.yName, nameLocation: 'middle', nameGap: 50, scale: true },
});

/**
 * SVG of the mean of each series over x with a band of ± one standard deviation: the band is drawn as
 * a stacked pair of invisible-line areas (lower edge, then the band's height) in the series' colour.
 */
export function lineBandChart(series: readonly BandSeries[], l: ChartLabels): string {
  const out: object[] = [];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const lower = s.x.map((x, j) => [x, s.mean[j]! - s.std[j]!]);
    const height = s.x.map((x, j) => [x, 2 * s.std[j]!]);
    const band = { type: 'line', stack: `band-${i}`, symbol: 'none', lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false } };
    out.push({ ...band, name: `${s.name} band`, data: lower });
    out.push({ ...band, name: `${s.name} band`, data: height, areaStyle: { color, opacity: 0.2 } });
    out.push({ type: 'line', name: s.name, data: s.x.map((x, j) => [x, s.mean[j]]), color, symbolSize: 6, lineStyle: { width: 2 } });
  });
  return renderSvg(
    {
      ...frame(l),
      legend: { data: series.map((s) => s.name), left: 10, top: 32 },
      xAxis: { type: 'value', name: l.xName, nameLocation: 'middle', nameGap: 30, min: 'dataMin', max: 'dataMax' },
      series: out,
    },
    l.width ?? 640,
    l.height ?? 400,
  );
}

/** SVG of one bar per category (its mean) with an error bar of ± std drawn as a custom series. */
export function barChart(bars: readonly Bar[], l: ChartLabels): string {
  return renderSvg(
    {
      ...frame(l),
      yAxis: { ...frame(l).yAxis, scale: false },
      xAxis: { type: 'category', name: l.xName, nameLocation: 'middle', nameGap: 30, data: bars.map((b) => b.name) },
      series: [
        { type: 'bar', name: 'mean', data: bars.map((b) => b.mean), barWidth: '50%' },
        {
          type: 'custom',
          name: '± std',
          data: bars.map((b, i) => [i, b.mean - b.std, b.mean + b.std]),
          renderItem: (_params: unknown, api: { value: (i: number) => number; coord: (p: number[]) => number[] }) => {
            const [x, lo] = api.coord([api.value(0), api.value(1)]) as [number, number];
            const [, hi] = api.coord([api.value(0), api.value(2)]) as [number, number];
            const style = { stroke: '#333', lineWidth: 1.5 };
            const line = (x1: number, y1: number, x2: number, y2: number) => ({ type: 'line', shape: { x1, y1, x2, y2 }, style });
            return { type: 'group', children: [line(x, lo, x, hi), line(x - 6, lo, x + 6, lo), line(x - 6, hi, x + 6, hi)] };
          },
          z: 10,
        },
      ],
    },
    l.width ?? 640,
    l.height ?? 400,
  );
}

/** Writes `svg` to `<base>.svg` and its rasterisation to `<base>.png` (both atomically); returns the two paths. */
export async function writeChart(base: string, svg: string): Promise<{ svg: string; png: string }> {
  const files = { svg: `${base}.svg`, png: `${base}.png` };
  writeFileAtomic(files.svg, svg);
  writeFileAtomic(files.png, await sharp(Buffer.from(svg)).png().toBuffer());
  return files;
}
