// What the three pages (live view, history, cook) share: the °C/°F switch
// remembered in the browser, formatting in the browser's local time, DOM
// building that only ever sets text (a device name or a note is never
// markup), JSON requests, and the live stream that reconnects by itself.
'use strict';

const TM = (() => {
  const UNIT_KEY = 'thermomaven.unit';
  const unitListeners = [];
  let chosenUnit = readStoredUnit();
  let fallbackUnit = 'C';

  function readStoredUnit() {
    try {
      const u = localStorage.getItem(UNIT_KEY);
      return u === 'C' || u === 'F' ? u : null;
    } catch (e) {
      return null; // storage disabled: the choice lasts for this page only
    }
  }

  // The unit shown: the user's choice, else the account's or the cook's.
  function unit() {
    return chosenUnit || fallbackUnit;
  }

  function setFallbackUnit(u) {
    if (u !== 'C' && u !== 'F') return;
    const before = unit();
    fallbackUnit = u;
    showUnit();
    if (unit() !== before) unitListeners.forEach((f) => f(unit()));
  }

  function chooseUnit(u) {
    chosenUnit = u;
    try {
      localStorage.setItem(UNIT_KEY, u);
    } catch (e) {
      // not remembered; still applied
    }
    showUnit();
    unitListeners.forEach((f) => f(u));
  }

  function onUnitChange(f) {
    unitListeners.push(f);
  }

  function showUnit() {
    document.querySelectorAll('[data-unit]').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.dataset.unit === unit()));
    });
  }

  // A temperature from the API (°C) in the shown unit, to 0.1; null stays null.
  function fromCelsius(c) {
    if (c === null || c === undefined) return null;
    const v = unit() === 'F' ? (c * 9) / 5 + 32 : c;
    return Math.round(v * 10) / 10;
  }

  function number(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    return (Math.round(v * 10) / 10).toFixed(1).replace(/\.0$/, '');
  }

  function temperature(c) {
    const v = fromCelsius(c);
    return v === null ? '–' : number(v) + ' °' + unit();
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function clockSeconds(ms) {
    return new Date(ms).toLocaleTimeString([], {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  function dateTime(ms) {
    return new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || seconds < 0) return '–';
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + ' min';
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return h + ' h ' + String(m).padStart(2, '0') + ' min';
  }

  // An element with a class and text: text goes in as text, never as HTML.
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function link(href, text, className) {
    const a = el('a', className, text);
    a.href = href;
    return a;
  }

  // GET JSON; throws an Error with the server's own message on a non-2xx.
  async function getJson(url) {
    const response = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const why = body && body.error ? body.error : response.statusText;
      const error = new Error(url + ': ' + response.status + ' ' + why);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // GET /events, kept open: EventSource alone gives up for good after a 503
  // or a refused connection, and says nothing when a connection goes
  // silently dead. This one closes the source on any error or after 45 s
  // without a word (the server sends at least a ping every 15 s) and opens a
  // new one after a backoff: 1 s, doubling to 30 s, with jitter, back to
  // 1 s once events flow again. On every (re)connect the server sends each
  // device's current state, so nothing is missed across a gap.
  class LiveStream {
    constructor(handlers) {
      this.handlers = handlers;
      this.delayMs = 1000;
      this.retryTimer = null;
      this.silenceTimer = null;
      this.source = null;
      this.open();
    }

    open() {
      this.source = new EventSource('/events');
      this.handlers.connection('connecting');
      this.source.onopen = () => this.handlers.connection('live');
      this.source.onerror = () => this.retry('the connection was lost');
      const on = (name, handle) =>
        this.source.addEventListener(name, (e) => {
          this.delayMs = 1000;
          this.armSilence();
          this.handlers.heard(Date.now());
          let data = null;
          try {
            data = JSON.parse(e.data);
          } catch (err) {
            return; // not ours to show
          }
          if (handle) handle(data);
        });
      on('state', (d) => this.handlers.state && this.handlers.state(d));
      on('logger', (d) => this.handlers.logger && this.handlers.logger(d));
      on('ping', null);
      this.armSilence();
    }

    armSilence() {
      clearTimeout(this.silenceTimer);
      this.silenceTimer = setTimeout(() => this.retry('no word from the logger for 45 s'), 45000);
    }

    retry(why) {
      if (this.source) this.source.close();
      clearTimeout(this.silenceTimer);
      clearTimeout(this.retryTimer);
      const wait = this.delayMs * (0.75 + Math.random() * 0.5);
      this.delayMs = Math.min(this.delayMs * 2, 30000);
      this.handlers.connection('retrying', why, Date.now() + wait);
      this.retryTimer = setTimeout(() => this.open(), wait);
    }
  }

  // The status line under the bar: the stream, when the page last heard
  // from the logger, and the logger's health (from its `logger` object).
  class StatusLine {
    constructor(root) {
      this.root = root;
      this.connection = { state: 'connecting' };
      this.heardMs = null;
      this.logger = null;
      setInterval(() => this.render(), 1000);
      this.render();
    }

    setConnection(state, why, retryAtMs) {
      this.connection = { state, why, retryAtMs };
      this.render();
    }

    setHeard(ms) {
      this.heardMs = ms;
    }

    setLogger(logger) {
      this.logger = logger;
      this.render();
    }

    render() {
      const parts = [];
      const c = this.connection;
      if (c.state === 'live') parts.push(['ok', 'live']);
      else if (c.state === 'retrying')
        parts.push([
          'bad',
          c.why + '; reconnecting in ' + Math.max(0, Math.ceil((c.retryAtMs - Date.now()) / 1000)) + ' s',
        ]);
      else parts.push(['warn', 'connecting…']);
      if (this.heardMs !== null) {
        const ago = Math.round((Date.now() - this.heardMs) / 1000);
        parts.push([null, 'last heard ' + clockSeconds(this.heardMs) + ' (' + ago + ' s ago)']);
      }
      parts.push(...loggerHealth(this.logger));
      this.root.replaceChildren(
        ...parts.map(([level, text]) => el('span', level ? 'dot ' + level : null, text)),
      );
      this.root.dataset.connection = c.state;
    }
  }

  // [level, text] pairs for the logger's health.
  function loggerHealth(logger) {
    if (!logger) return [];
    const out = [];
    const collector = logger.collector;
    if (!collector) {
      out.push(['warn', 'no collector has written to this database']);
      return out;
    }
    if (logger.broker_connected === true) out.push(['ok', 'broker connected']);
    else if (logger.broker_connected === false) out.push(['bad', 'broker disconnected']);
    if (!collector.running) out.push(['bad', 'collector stopped (' + collector.state + ')']);
    else if (Date.now() - collector.updated_ms > 30000)
      out.push(['warn', 'collector silent since ' + clockSeconds(collector.updated_ms)]);
    else out.push(['ok', 'collector ' + collector.state]);
    if (collector.last_error) out.push(['bad', 'last error: ' + collector.last_error]);
    return out;
  }

  function init() {
    document.querySelectorAll('[data-unit]').forEach((b) => {
      b.addEventListener('click', () => chooseUnit(b.dataset.unit));
    });
    showUnit();
  }

  document.addEventListener('DOMContentLoaded', init);

  return {
    unit,
    setFallbackUnit,
    onUnitChange,
    fromCelsius,
    number,
    temperature,
    clock,
    clockSeconds,
    dateTime,
    duration,
    el,
    link,
    getJson,
    LiveStream,
    StatusLine,
  };
})();
