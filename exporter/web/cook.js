// A cook's page (GET /cooks/{uuid}): the chart of its food temperature,
// T1–T5, ambient and target (dygraphs: drag to zoom, shift-drag or touch
// to pan, double-click to reset, values at the pointer), the forecast as a
// band around the predicted finish with a dashed line to the target, the
// cook's details and its CSV. A running cook's chart follows /events.
'use strict';

(() => {
  const SERIES = [
    { name: 'Food', key: 'food', shown: true },
    { name: 'T1', key: 't1', shown: false },
    { name: 'T2', key: 't2', shown: false },
    { name: 'T3', key: 't3', shown: false },
    { name: 'T4', key: 't4', shown: false },
    { name: 'T5', key: 't5', shown: false },
    { name: 'Ambient', key: 'ambient', shown: true },
    { name: 'Target', key: 'target', shown: true },
    { name: 'Forecast', key: 'forecast', shown: true },
  ];
  const SHOWN_KEY = 'thermomaven.series';
  const REFRESH_MS = 5000; // at most one reload of the series this often

  const requested = decodeURIComponent(location.pathname.slice('/cooks/'.length));
  const message = document.getElementById('message');
  const readout = document.getElementById('readout');
  let cook = null; // /api/cooks/{uuid}
  let series = null; // /api/cooks/{uuid}/series in the shown unit
  let band = null; // {from, to, done} in ms, while the forecast has an estimate
  let liveForecast = null; // the probe's forecast from /events
  let chart = null;
  let lastFetchMs = 0;
  let refreshTimer = null;
  const shown = loadShown();

  function loadShown() {
    try {
      const saved = JSON.parse(localStorage.getItem(SHOWN_KEY) || 'null');
      if (Array.isArray(saved) && saved.length === SERIES.length) return saved.map(Boolean);
    } catch (e) {
      // default below
    }
    return SERIES.map((s) => s.shown);
  }

  function color(key) {
    return getComputedStyle(document.documentElement).getPropertyValue('--c-' + key).trim();
  }

  function showError(text) {
    message.hidden = false;
    message.textContent = text;
    message.classList.add('error');
  }

  // The chart's rows: each reading, then, while the forecast has an
  // estimate, a dashed line from the last food reading to the target at the
  // predicted finish, and the target drawn on to the band's end.
  function chartRows() {
    const rows = series.points.map((p) => [new Date(p[0]), ...p.slice(1, 9), null]);
    band = null;
    const latest = series.forecast.length ? series.forecast[series.forecast.length - 1] : null;
    const last = rows[rows.length - 1];
    if (!latest || latest[1] === null || !last || cook.status !== 'running') return rows;
    const lastMs = last[0].getTime();
    const [food, target] = [last[1], last[8]];
    const done = latest[1];
    if (done <= lastMs || food === null || target === null || food >= target) return rows;
    // Lower confidence, wider band: ±(1 − confidence) of the time still to go.
    const spread = Math.max((1 - latest[2]) * (done - lastMs), 60000);
    band = { from: done - spread, to: done + spread, done };
    last[9] = food;
    rows.push([new Date(done), null, null, null, null, null, null, null, target, target]);
    rows.push([new Date(done + spread), null, null, null, null, null, null, null, target, null]);
    return rows;
  }

  function drawBand(ctx, area, g) {
    if (!band) return;
    const left = g.toDomXCoord(band.from);
    const right = g.toDomXCoord(band.to);
    ctx.save();
    ctx.fillStyle = getComputedStyle(document.documentElement).getPropertyValue('--band').trim();
    ctx.fillRect(left, area.y, right - left, area.h);
    ctx.restore();
  }

  function showReadout(xMs, values) {
    const parts = [TM.el('span', null, TM.dateTime(xMs))];
    for (const [name, value] of values) {
      if (value === null || value === undefined || Number.isNaN(value)) continue;
      const s = SERIES.find((x) => x.name === name);
      const span = TM.el('span', null, ' ' + name + ' ' + TM.number(value) + ' °' + series.unit);
      span.prepend(TM.el('i', 'swatch s-' + s.key));
      parts.push(span);
    }
    readout.replaceChildren(...parts);
  }

  function showLatestReadout() {
    const p = series.points[series.points.length - 1];
    if (!p) {
      readout.replaceChildren(TM.el('span', null, 'No readings.'));
      return;
    }
    showReadout(
      p[0],
      SERIES.slice(0, 8).map((s, i) => [s.name, shown[i] ? p[i + 1] : null]),
    );
  }

  // Without dygraphs' legend plugin: the page shows its own readout, and the
  // plugin sets a style attribute when it starts (to measure an em), which
  // the Content-Security-Policy refuses with a console error.
  function withoutLegendPlugin() {
    if (Dygraph.Plugins && Dygraph.Plugins.Legend)
      Dygraph.PLUGINS = Dygraph.PLUGINS.filter((p) => p !== Dygraph.Plugins.Legend);
  }

  function drawChart() {
    const rows = chartRows();
    const options = {
      labels: ['Time', ...SERIES.map((s) => s.name)],
      colors: SERIES.map((s) => color(s.key)),
      visibility: shown,
      connectSeparatedPoints: true,
      ylabel: '°' + series.unit,
      strokeWidth: 1.5,
      axisLineColor: color('axis') || 'gray',
      gridLineColor: 'rgba(128,128,128,0.25)',
      axes: { x: { axisLabelWidth: 72 } }, // room for "22:26:45"
      series: {
        Forecast: { strokePattern: [6, 4], strokeWidth: 2, drawPoints: true, pointSize: 3 },
        Target: { strokePattern: [2, 3] },
      },
      highlightCallback: (event, x, points) =>
        showReadout(x, points.map((p) => [p.name, p.yval])),
      unhighlightCallback: showLatestReadout,
      underlayCallback: drawBand,
    };
    if (chart) chart.updateOptions({ ...options, file: rows });
    else chart = new Dygraph(document.getElementById('chart'), rows, options);
    showLatestReadout();
  }

  function showToggles() {
    const box = document.getElementById('toggles');
    box.replaceChildren(
      ...SERIES.map((s, i) => {
        const label = TM.el('label');
        const input = document.createElement('input');
        input.type = 'checkbox';
        input.checked = shown[i];
        input.dataset.series = s.name;
        input.addEventListener('change', () => {
          shown[i] = input.checked;
          try {
            localStorage.setItem(SHOWN_KEY, JSON.stringify(shown));
          } catch (e) {
            // not remembered
          }
          if (chart) chart.setVisibility(i, input.checked);
          showLatestReadout();
        });
        label.append(input, TM.el('i', 'swatch s-' + s.key), TM.el('span', null, s.name));
        return label;
      }),
    );
  }

  function showDetails() {
    const title = (cook.device_name || cook.device_id) + ' · probe ' + cook.probe;
    document.getElementById('title').textContent = title;
    document.title = 'ThermoMaven · ' + title;
    const meta = document.getElementById('meta');
    const rows = [
      ['Notes', cook.notes || '–'],
      ['Mode', cook.mode || '–'],
      ['Started', TM.dateTime(Date.parse(cook.started_at))],
      [
        cook.status === 'running' ? 'Last reading' : 'Ended',
        TM.dateTime(Date.parse(cook.ended_at)) + (cook.status === 'running' ? '' : ' (' + cook.status.replace('_', ' ') + ')'),
      ],
      ['Duration', TM.duration((Date.parse(cook.ended_at) - Date.parse(cook.started_at)) / 1000)],
      ['Peak', TM.temperature(cook.max_temperature_c)],
      ['Target', TM.temperature(cook.target_temperature_c)],
      ['Readings', String(cook.readings)],
    ];
    meta.replaceChildren(...rows.flatMap(([k, v]) => [TM.el('dt', null, k), TM.el('dd', 'meta-' + k.toLowerCase().replace(' ', '-'), v)]));
    const csv = document.getElementById('csv');
    csv.href = '/cooks/' + encodeURIComponent(cook.cook_uuid) + '.csv?unit=' + TM.unit();
    showForecast();
  }

  function showForecast() {
    const line = document.getElementById('forecast');
    if (cook.status !== 'running') {
      line.textContent = '';
      return;
    }
    const state = liveForecast ? liveForecast.state : null;
    if (state === 'stalled') line.textContent = 'Forecast: stalled';
    else if (state === 'unreachable') line.textContent = 'Forecast: the pit stays below the target';
    else if (state === 'collecting') line.textContent = 'Forecast: collecting readings…';
    else line.textContent = '';
    if (band) {
      const left = Math.max(0, (band.done - Date.now()) / 1000);
      const confidence = series.forecast[series.forecast.length - 1][2];
      line.textContent =
        (state === 'stalled' ? 'Forecast: stalled; if it resumes now, done ' : 'Forecast: done ') +
        TM.clock(band.done) + ' (in ' + TM.duration(left) + ', confidence ' + Math.round(confidence * 100) + ' %)';
    }
  }

  async function load() {
    lastFetchMs = Date.now();
    const id = cook ? cook.cook_uuid : requested;
    cook = await TM.getJson('/api/cooks/' + encodeURIComponent(id));
    TM.setFallbackUnit(cook.unit);
    series = await TM.getJson('/api/cooks/' + encodeURIComponent(cook.cook_uuid) + '/series?unit=' + TM.unit());
    drawChart();
    showDetails();
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    const wait = Math.max(0, lastFetchMs + REFRESH_MS - Date.now());
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      load().catch((e) => showError(e.message));
    }, wait);
  }

  function follow() {
    const status = new TM.StatusLine(document.getElementById('status'));
    new TM.LiveStream({
      connection: (state, why, at) => status.setConnection(state, why, at),
      heard: (ms) => status.setHeard(ms),
      logger: (logger) => status.setLogger(logger),
      state: (d) => {
        if (d.device_id !== cook.device_id) return;
        const p = (d.probes || []).find((x) => x.probe === cook.probe);
        if (!p || !p.cook || p.cook.cook_uuid !== cook.cook_uuid) return;
        liveForecast = p.forecast;
        scheduleRefresh();
      },
    });
  }

  async function start() {
    if (typeof Dygraph === 'undefined') {
      showError('The chart library did not load: install Debian\'s libjs-dygraphs on the logger\'s machine.');
      return;
    }
    withoutLegendPlugin();
    showToggles();
    document.getElementById('reset').addEventListener('click', () => chart && chart.resetZoom());
    TM.onUnitChange(() => load().catch((e) => showError(e.message)));
    try {
      await load();
    } catch (e) {
      showError(e.message);
      return;
    }
    if (cook.status === 'running') follow();
  }

  start();
})();
