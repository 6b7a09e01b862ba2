/* global document, window, EventSource, echarts */
// The dashboard page of `reg serve`: the run list (polled), live curves (server-sent events), the
// checkpoint grids, the config (and the diff of two runs) and the evaluation records of the ticked runs.
// Read-only: it only sends GET requests.

/** Curves drawn, in this order: [metrics.jsonl field, title]. */
const METRICS = [
  ['loss', 'total loss'],
  ['denoise', 'denoising loss'],
  ['cls', 'class-token loss'],
  ['proj', 'alignment loss (−cos)'],
  ['gradNorm', 'gradient norm'],
  ['lr', 'learning rate'],
  ['imagesPerSec', 'images / s'],
];
const RUN_LIST_MS = 2000;
const DETAILS_MS = 5000;

const state = {
  runs: [],
  /** Ticked run names, in the order they were ticked. */
  selected: [],
  /** Run name → its metrics records, in step order. */
  curves: new Map(),
  details: new Map(),
  events: null,
  charts: new Map(),
  drawPending: false,
};

const $ = (id) => document.getElementById(id);

function element(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

/** The URL path of run `name` (`demo/run`) under files/. */
const runPath = (name) => name.split('/').map(encodeURIComponent).join('/');

function formatSeconds(s) {
  if (s === null || s === undefined) return '';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const formatNumber = (v) =>
  typeof v === 'number'
    ? Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
      ? v.toExponential(3)
      : String(Number(v.toPrecision(5)))
    : String(v);

// ------------------------------------------------------------------ runs

async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

async function refreshRuns() {
  try {
    state.runs = await getJson('api/runs');
    $('connection').textContent = '';
  } catch (e) {
    $('connection').textContent = `cannot reach the server (${e.message})`;
    return;
  }
  const known = new Set(state.runs.map((r) => r.name));
  const kept = state.selected.filter((n) => known.has(n));
  if (kept.length === 0 && state.runs.length > 0) kept.push(state.runs[0].name);
  if (kept.join('\n') !== state.selected.join('\n')) select(kept);
  renderRuns();
}

function renderRuns() {
  const body = $('runs').tBodies[0];
  body.replaceChildren(
    ...state.runs.map((r) => {
      const box = element('input', { type: 'checkbox', 'data-run': r.name });
      box.checked = state.selected.includes(r.name);
      box.addEventListener('change', () => select(box.checked ? [...state.selected, r.name] : state.selected.filter((n) => n !== r.name)));
      return element('tr', { 'data-run': r.name, 'data-status': r.state }, [
        element('td', {}, [box]),
        element('td', { text: r.name }),
        element('td', {}, [element('span', { class: `status ${r.state}`, text: r.state })]),
        element('td', { class: 'number', text: r.maxSteps === null ? String(r.step) : `${r.step} / ${r.maxSteps}` }),
        element('td', { class: 'number', text: formatSeconds(r.etaSeconds) }),
        element('td', { class: 'number', text: r.loss === null ? '' : formatNumber(r.loss) }),
      ]);
    }),
  );
}

/** Ticks exactly `names`: reopens the event stream and reloads the details. */
function select(names) {
  state.selected = names;
  state.curves = new Map(names.map((n) => [n, []]));
  if (state.events) state.events.close();
  state.events = null;
  if (names.length > 0) {
    const query = names.map((n) => `run=${encodeURIComponent(n)}`).join('&');
    state.events = new EventSource(`api/events?${query}`);
    state.events.addEventListener('metrics', (ev) => {
      const { run, reset, records } = JSON.parse(ev.data);
      if (!state.curves.has(run)) return;
      const curve = reset ? [] : state.curves.get(run);
      for (const r of records) curve.push(r);
      state.curves.set(run, curve);
      scheduleDraw();
    });
  }
  renderRuns();
  scheduleDraw();
  void refreshDetails();
}

// ---------------------------------------------------------------- curves

/** Debiased exponential moving average (as TensorBoard's smoothing): s_t = α s_{t−1} + (1 − α) x_t, shown as s_t / (1 − α^t). */
function smooth(values, alpha) {
  let s = 0;
  let n = 0;
  return values.map((v) => {
    n++;
    s = alpha * s + (1 - alpha) * v;
    return alpha === 0 ? v : s / (1 - alpha ** n);
  });
}

function seriesOf(name, metric, opts) {
  const records = state.curves.get(name) ?? [];
  const rows = records.filter((r) => typeof r[metric] === 'number' && Number.isFinite(r[metric]));
  let t = 0;
  const time = new Map(records.map((r) => [r, (t += r.stepSeconds ?? 0)]));
  const ys = smooth(
    rows.map((r) => r[metric]),
    opts.smoothing,
  );
  const data = rows.map((r, i) => [opts.xAxis === 'time' ? time.get(r) : r.step, ys[i]]).filter(([, y]) => !opts.log || y > 0);
  return { name, type: 'line', showSymbol: false, sampling: 'lttb', data };
}

function chartFor(metric) {
  let chart = state.charts.get(metric);
  if (!chart) {
    const div = element('div', { class: 'chart', id: `chart-${metric}`, 'data-metric': metric });
    $('charts').append(div);
    chart = echarts.init(div);
    state.charts.set(metric, chart);
  }
  return chart;
}

function scheduleDraw() {
  if (state.drawPending) return;
  state.drawPending = true;
  window.requestAnimationFrame(() => {
    state.drawPending = false;
    drawCharts();
  });
}

function drawCharts() {
  const opts = { smoothing: Number($('smoothing').value), log: $('log-scale').checked, xAxis: $('x-axis').value };
  $('smoothing-value').textContent = opts.smoothing.toFixed(2);
  for (const [metric, title] of METRICS) {
    const series = state.selected.map((n) => seriesOf(n, metric, opts));
    const chart = chartFor(metric);
    chart.setOption(
      {
        title: { text: title, left: 0, textStyle: { fontSize: 13 } },
        tooltip: { trigger: 'axis' },
        legend: { top: 0, right: 0, data: state.selected },
        grid: { top: 40, left: 60, right: 40, bottom: 30 },
        animation: false,
        xAxis: { type: 'value', name: opts.xAxis === 'time' ? 's' : 'step', scale: true },
        yAxis: { type: opts.log ? 'log' : 'value', scale: true },
        series,
      },
      { replaceMerge: ['series'] },
    );
    // for tests and scripts: the number of points drawn per run
    chart.getDom().dataset.points = JSON.stringify(Object.fromEntries(series.map((s) => [s.name, s.data.length])));
  }
}

// --------------------------------------------------------------- details

async function refreshDetails() {
  const names = [...state.selected];
  const details = await Promise.all(names.map((n) => getJson(`api/run?name=${encodeURIComponent(n)}`).catch(() => null)));
  if (names.join('\n') !== state.selected.join('\n')) return; // the selection changed meanwhile
  state.details = new Map(names.map((n, i) => [n, details[i]]));
  renderSamples();
  await renderConfig();
  renderEvaluations();
}

function renderSamples() {
  const rows = state.selected.map((name) => {
    const d = state.details.get(name);
    const grids = d?.grids ?? [];
    const strip = element(
      'div',
      { class: 'strip' },
      grids.map((g) =>
        element('figure', {}, [
          element('img', {
            class: 'grid',
            src: `files/${runPath(name)}/${g.file}`,
            alt: `${name} step ${g.step}`,
            'data-step': String(g.step),
          }),
          element('figcaption', { text: `step ${g.step}` }),
        ]),
      ),
    );
    if (grids.length === 0) strip.append(element('span', { class: 'muted', text: 'no grids yet' }));
    return element('div', { 'data-run': name }, [element('h3', { text: name }), strip]);
  });
  $('samples').replaceChildren(...rows);
}

async function renderConfig() {
  const [a, b] = state.selected;
  const parts = [];
  if (a !== undefined && b !== undefined) {
    const diff = await getJson(`api/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`).catch(() => []);
    const cell = (v) => element('td', { text: v === undefined ? '—' : JSON.stringify(v) });
    parts.push(
      element('h3', { text: `${a} vs ${b}: ${diff.length} setting(s) differ` }),
      element('table', { class: 'diff' }, [
        element('thead', {}, [
          element('tr', {}, [element('th', { text: 'setting' }), element('th', { text: a }), element('th', { text: b })]),
        ]),
        element(
          'tbody',
          {},
          diff.map((d) => element('tr', { 'data-key': d.key }, [element('td', { text: d.key }), cell(d.a), cell(d.b)])),
        ),
      ]),
    );
  }
  for (const name of state.selected) {
    const d = state.details.get(name);
    parts.push(
      element('details', b === undefined ? { open: '' } : {}, [
        element('summary', { text: `${name}/config.json` }),
        element('pre', { text: JSON.stringify(d?.config ?? null, null, 2) }),
      ]),
    );
  }
  $('config').replaceChildren(...parts);
}

/** Leaves of a record as [dotted key, value] (first 40). */
function leaves(value, prefix = '', out = []) {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix && out.length < 40 && (typeof value === 'number' || typeof value === 'string')) {
    out.push([prefix, value]);
  }
  return out;
}

function renderEvaluations() {
  const parts = [];
  for (const name of state.selected) {
    for (const e of state.details.get(name)?.evaluations ?? []) {
      const rows = leaves(e.record).map(([k, v]) =>
        element('tr', {}, [element('td', { text: k }), element('td', { class: 'number', text: formatNumber(v) })]),
      );
      parts.push(
        element('details', { open: '' }, [
          element('summary', { text: `${name}/${e.file}` }),
          element('table', {}, [element('tbody', {}, rows)]),
        ]),
      );
    }
  }
  if (parts.length === 0)
    parts.push(
      element('span', {
        class: 'muted',
        text: 'no evaluation records (*.eval.json, representation-*.json, study files) in the ticked runs',
      }),
    );
  $('evaluations').replaceChildren(...parts);
}

// ------------------------------------------------------------------ start

for (const id of ['smoothing', 'log-scale', 'x-axis']) $(id).addEventListener('input', scheduleDraw);
window.addEventListener('resize', () => state.charts.forEach((c) => c.resize()));
void refreshRuns();
window.setInterval(refreshRuns, RUN_LIST_MS);
window.setInterval(() => void refreshDetails(), DETAILS_MS);
