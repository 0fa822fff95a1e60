// The live view (GET /): a card per device and a panel per probe, from
// /api/devices at first and from each `state` event of /events afterwards,
// without a reload. Everything shown comes from the logger's own JSON.
'use strict';

(() => {
  // How far below the target "pull now" shows, for the carry-over while
  // the meat rests (°C; 5.4 °F).
  const PULL_MARGIN_C = 3;
  const PROBE_STATES = {
    cooking: 'cooking',
    charged: 'docked',
    idle: 'idle',
    removed: 'removed',
    done: 'done',
    resting: 'resting',
  };

  const devices = new Map(); // device_id -> its /api/devices entry
  const root = document.getElementById('devices');
  const status = new TM.StatusLine(document.getElementById('status'));

  function render() {
    if (devices.size === 0) {
      root.replaceChildren(TM.el('p', 'empty', 'No device has reported yet.'));
      return;
    }
    root.replaceChildren(...[...devices.values()].map(deviceCard));
  }

  function deviceCard(d) {
    const card = TM.el('section', 'device');
    card.dataset.deviceId = d.device_id;
    if (d.last_report_ms) card.dataset.lastReportMs = d.last_report_ms;
    const head = TM.el('div', 'device-head');
    head.append(TM.el('h2', 'device-name', d.name || d.device_id));
    if (d.model) head.append(TM.el('span', 'chip', d.model));
    if (d.stale) head.append(TM.el('span', 'chip warn', 'stale'));
    else if (d.up) head.append(TM.el('span', 'chip good', 'online'));
    else head.append(TM.el('span', 'chip bad', 'offline'));
    card.append(head);

    const meta = [];
    if (d.battery_pct !== null && d.battery_pct !== undefined)
      meta.push('battery ' + d.battery_pct + ' %' + (d.battery_status && d.battery_status !== 'normal' ? ' (' + d.battery_status + ')' : ''));
    if (d.wifi_rssi_dbm !== null && d.wifi_rssi_dbm !== undefined) meta.push('Wi-Fi ' + d.wifi_rssi_dbm + ' dBm');
    if (d.last_report_ms) meta.push('last report ' + TM.clockSeconds(d.last_report_ms));
    card.append(TM.el('p', 'meta', meta.join(' · ')));

    const probes = TM.el('div', 'probes');
    for (const p of d.probes || []) probes.append(probePanel(p));
    if (d.stale) probes.append(TM.el('p', 'empty', 'No recent report: values hidden until it reports again.'));
    card.append(probes);
    return card;
  }

  function probePanel(p) {
    const panel = TM.el('article', 'probe');
    panel.dataset.probe = p.probe;
    const head = TM.el('div', 'probe-head');
    head.append(TM.el('span', 'probe-name', 'Probe ' + p.probe));
    head.append(TM.el('span', 'chip probe-state', PROBE_STATES[p.state] || p.state || 'unknown'));
    if (p.battery_pct !== null && p.battery_pct !== undefined)
      head.append(TM.el('span', 'chip', 'battery ' + p.battery_pct + ' %'));
    panel.append(head);
    // A probe in its dock or out of use reports no temperatures: one line.
    if (!p.cooking && p.food_c === null && !p.cook) {
      panel.classList.add('idle');
      return panel;
    }

    const food = TM.el('div', 'food');
    const value = TM.fromCelsius(p.food_c);
    food.append(TM.el('span', 'food-value', value === null ? '–' : TM.number(value)));
    food.append(TM.el('span', 'food-unit', '°' + TM.unit()));
    panel.append(food);
    panel.append(flags(p));

    const figures = TM.el('dl', 'figures');
    const add = (label, text) => figures.append(TM.el('dt', null, label), TM.el('dd', null, text));
    add('Target', TM.temperature(p.target_c));
    add('Ambient (pit)', TM.temperature(p.ambient_c));
    if (p.cooking || p.elapsed_s) add('Elapsed', TM.duration(p.elapsed_s));
    if (p.device_remaining_s !== null && p.device_remaining_s !== undefined)
      add('Device estimate', TM.duration(p.device_remaining_s) + ' left');
    if (p.forecast) add('Our forecast', forecastText(p.forecast));
    panel.append(figures);

    const zones = TM.el('div', 'zones');
    (p.zones_c || []).forEach((z, i) => {
      const cell = TM.el('div', null, TM.number(TM.fromCelsius(z)));
      cell.prepend(TM.el('span', null, 'T' + (i + 1)));
      zones.append(cell);
    });
    panel.append(zones);

    if (p.cook) {
      if (p.cook.notes) panel.append(TM.el('p', 'note', p.cook.notes));
      panel.append(TM.link('/cooks/' + encodeURIComponent(p.cook.cook_uuid), 'Chart of this cook →', 'link'));
    }
    return panel;
  }

  // Target reached, "pull now" a few degrees before it, and the stall.
  function flags(p) {
    const box = TM.el('div', 'flags');
    const food = p.food_c;
    const target = p.target_c;
    if (food !== null && food !== undefined && target !== null && target !== undefined && p.cooking) {
      if (food >= target) box.append(TM.el('span', 'chip good flag-reached', 'target reached'));
      else if (food >= target - PULL_MARGIN_C) box.append(TM.el('span', 'chip warn flag-pull', 'pull now'));
    }
    if (p.forecast && p.forecast.stalled) box.append(TM.el('span', 'chip warn flag-stall', 'stall'));
    if (p.overheat) box.append(TM.el('span', 'chip bad', 'overheat'));
    return box;
  }

  function forecastText(f) {
    const when = () => {
      const left = Math.max(0, (f.predicted_done_ms - Date.now()) / 1000);
      return TM.clock(f.predicted_done_ms) + ' (in ' + TM.duration(left) + ', confidence ' + Math.round(f.confidence * 100) + ' %)';
    };
    switch (f.state) {
      case 'collecting':
        return 'collecting readings…';
      case 'estimating':
        return f.predicted_done_ms ? 'done ' + when() : 'estimating…';
      case 'stalled':
        return f.predicted_done_ms ? 'stalled; if it resumes now, done ' + when() : 'stalled';
      case 'unreachable':
        return 'the pit stays below the target';
      case 'done':
        return 'done';
      default:
        return f.state;
    }
  }

  async function start() {
    try {
      const state = await TM.getJson('/api/devices');
      TM.setFallbackUnit(state.unit);
      for (const d of state.devices) devices.set(d.device_id, d);
      status.setLogger(state.logger);
      status.setHeard(Date.now());
      render();
    } catch (e) {
      root.replaceChildren(TM.el('p', 'empty error', String(e.message)));
    }
    new TM.LiveStream({
      connection: (state, why, at) => status.setConnection(state, why, at),
      heard: (ms) => status.setHeard(ms),
      logger: (logger) => status.setLogger(logger),
      state: (d) => {
        devices.set(d.device_id, d);
        render();
      },
    });
    TM.onUnitChange(render);
    // Relative times ("in 25 min") move on between events.
    setInterval(render, 30000);
  }

  start();
})();
