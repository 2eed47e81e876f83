// Charts on canvas with uPlot (vendored from npm, see web/console/): time on x, one series
// per name. Values arrive as the API gives them; the caller scales money to major units.
import uPlot from '../vendor/uplot/uPlot.esm.js';

const COLOURS = ['#1f4e79', '#c2571a', '#2e8540', '#8e44ad', '#b8860b', '#c0392b', '#16a085', '#555'];

// x: seconds since epoch; series: [{label, values}]; bars: draw bars (one series) or lines.
export function timeChart(container, { x, series, bars = false, yLabel = '', height = 260 }) {
  const width = () => Math.max(container.clientWidth, 280);
  const opts = {
    width: width(),
    height,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, 1) * 1.1] } },
    axes: [{}, { label: yLabel, size: 60 }],
    legend: { show: true },
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: COLOURS[i % COLOURS.length],
        fill: bars ? COLOURS[i % COLOURS.length] + 'cc' : undefined,
        width: bars ? 1 : 2,
        points: { show: !bars },
        paths: bars ? uPlot.paths.bars({ size: [0.7, 60] }) : undefined,
      })),
    ],
  };
  const plot = new uPlot(opts, [x, ...series.map((s) => s.values)], container);
  const resize = () => plot.setSize({ width: width(), height });
  window.addEventListener('resize', resize);
  return plot;
}
