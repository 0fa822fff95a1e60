// The history (GET /history): past cooks from /api/cooks, newest first,
// filtered by device and by the local dates they started, a page of 25 at a
// time. The filters and the page live in the address, so that a reload or
// the back button shows the same list.
'use strict';

(() => {
  const PAGE_SIZE = 25;
  const form = document.getElementById('filters');
  const deviceSelect = document.getElementById('device');
  const fromInput = document.getElementById('from');
  const toInput = document.getElementById('to');
  const table = document.getElementById('cooks');
  const body = table.querySelector('tbody');
  const message = document.getElementById('message');
  const older = document.getElementById('older');
  const newer = document.getElementById('newer');
  let cooks = [];

  function params() {
    return new URLSearchParams(location.search);
  }

  // A local date (YYYY-MM-DD) as the UTC instant of its first or last millisecond.
  function localDayBound(day, end) {
    const [y, m, d] = day.split('-').map(Number);
    const t = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
    return t.toISOString();
  }

  function apiQuery(p) {
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (p.get('device')) q.set('device', p.get('device'));
    if (p.get('from')) q.set('from', localDayBound(p.get('from'), false));
    if (p.get('to')) q.set('to', localDayBound(p.get('to'), true));
    if (p.get('before')) q.set('before', p.get('before'));
    return q;
  }

  async function load() {
    const p = params();
    deviceSelect.value = p.get('device') || '';
    fromInput.value = p.get('from') || '';
    toInput.value = p.get('to') || '';
    message.hidden = false;
    message.textContent = 'Loading…';
    try {
      cooks = await TM.getJson('/api/cooks?' + apiQuery(p));
    } catch (e) {
      cooks = [];
      table.hidden = true;
      message.textContent = e.message;
      message.classList.add('error');
      return;
    }
    message.classList.remove('error');
    render();
    older.hidden = cooks.length < PAGE_SIZE;
    newer.hidden = !p.get('before');
  }

  function render() {
    if (cooks.length === 0) {
      table.hidden = true;
      message.hidden = false;
      message.textContent = 'No cooks match.';
      return;
    }
    message.hidden = true;
    table.hidden = false;
    body.replaceChildren(...cooks.map(row));
  }

  function row(c) {
    const tr = TM.el('tr');
    tr.dataset.cookUuid = c.cook_uuid;
    const href = '/cooks/' + encodeURIComponent(c.cook_uuid);
    const started = Date.parse(c.started_at);
    const ended = Date.parse(c.ended_at);
    const cell = (label, content, className) => {
      const td = TM.el('td', className);
      td.dataset.label = label;
      if (typeof content === 'string') td.textContent = content;
      else td.append(content);
      tr.append(td);
    };
    cell('Started', TM.link(href, TM.dateTime(started), 'cook-link'));
    cell('Device', (c.device_name || c.device_id) + ' · probe ' + c.probe);
    cell('Notes', c.notes || '', 'notes');
    cell('Duration', TM.duration((ended - started) / 1000), 'num');
    cell('Peak', TM.temperature(c.max_temperature_c), 'num');
    cell('Target', TM.temperature(c.target_temperature_c), 'num');
    cell('Status', c.status.replace('_', ' '));
    tr.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      location.href = href;
    });
    return tr;
  }

  function navigate(p) {
    history.pushState({ paged: true }, '', '/history' + (p.toString() ? '?' + p : ''));
    load();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (deviceSelect.value) p.set('device', deviceSelect.value);
    if (fromInput.value) p.set('from', fromInput.value);
    if (toInput.value) p.set('to', toInput.value);
    navigate(p);
  });
  older.addEventListener('click', () => {
    const p = params();
    p.set('before', cooks[cooks.length - 1].cook_uuid);
    navigate(p);
  });
  newer.addEventListener('click', () => {
    if (history.state && history.state.paged) {
      history.back();
      return;
    }
    const p = params();
    p.delete('before');
    navigate(p);
  });
  window.addEventListener('popstate', load);
  TM.onUnitChange(render);

  async function fillDevices() {
    try {
      const state = await TM.getJson('/api/devices');
      TM.setFallbackUnit(state.unit);
      for (const d of state.devices) {
        const option = TM.el('option', null, d.name || d.device_id);
        option.value = d.device_id;
        deviceSelect.append(option);
      }
    } catch (e) {
      // the list still works without the device names
    }
  }

  fillDevices().then(load);
})();
