// The StreamGate dashboard. Plain script, no dependency: it polls the
// control plane's API (same origin), keeps the last hour of rates in this
// tab, and edits, previews and publishes the draft.
//
// The API token is kept in sessionStorage and sent only in the
// Authorization header of POST, PUT and DELETE requests; it is never put in
// a URL, the page or the console.
'use strict';

(function () {
  const TOKEN_KEY = 'streamgate.apiToken';
  const WINDOW_MS = 60 * 60 * 1000; // rates kept: the last hour
  const params = new URLSearchParams(location.search);
  // ?poll=ms polls faster or slower than every 3 s (at least 250 ms).
  const POLL_MS = Math.max(250, parseInt(params.get('poll'), 10) || 3000);
  const REFRESH_EVERY = Math.max(1, Math.round(15000 / POLL_MS)); // draft and history

  const $ = (sel, root) => (root || document).querySelector(sel);

  // el builds an element; text children are text nodes, never HTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const svgNS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs) {
    const e = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, String(v));
    }
    return e;
  }

  // ---- formatting ----

  function fmtNum(n) {
    if (n === undefined || n === null || Number.isNaN(n)) return '–';
    const a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
    if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e4) return (n / 1e3).toFixed(a >= 1e5 ? 0 : 1) + 'k';
    if (Number.isInteger(n)) return String(n);
    return n.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
  }

  function fmtBytes(n) {
    if (n === undefined || n === null || Number.isNaN(n)) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = n;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : 1)) + ' ' + units[i];
  }

  function fmtAge(ms) {
    if (!(ms >= 0)) return '–';
    const s = ms / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
    if (s < 3600) return Math.round(s / 60) + ' min';
    if (s < 86400) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' d';
  }

  function fmtMillis(ms) {
    if (!(ms >= 0)) return '–';
    if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
    return fmtAge(ms);
  }

  function fmtTime(unixSeconds) {
    if (!unixSeconds) return '–';
    const d = new Date(unixSeconds * 1000);
    return d.toLocaleString();
  }

  // ---- messages ----

  let msgTimer = 0;
  function say(kind, text, list) {
    const m = $('#msg');
    m.replaceChildren(el('span', { text }));
    if (list && list.length) m.append(el('ul', null, list.map((x) => el('li', { text: x }))));
    m.className = 'msg ' + kind;
    m.dataset.kind = kind;
    m.hidden = false;
    clearTimeout(msgTimer);
    if (kind === 'ok') msgTimer = setTimeout(() => { m.hidden = true; }, 8000);
  }

  function sayError(what, err) {
    if (err.status === 401 || err.status === 403) {
      const why = getToken()
        ? 'the API refused the token in use'
        : 'the API needs a token for changes';
      say('error', `${what}: not authorised (${err.status}): ${why}. Enter the API token at the top of the page.`);
      $('#token').focus();
      return;
    }
    const status = err.status ? ` (${err.status})` : '';
    say('error', `${what}${status}: ${err.message}`, err.errors);
  }

  // ---- token ----

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function setToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage refused: the token lasts until the page reloads */ }
    memToken = t;
    showTokenState();
  }

  let memToken = getToken();
  function token() { return getToken() || memToken; }

  function showTokenState() {
    $('#token-state').textContent = token() ? 'token set for this tab' : 'no token';
    $('#token').value = '';
  }

  // ---- API ----

  class APIError extends Error {
    constructor(status, message, errors) {
      super(message);
      this.status = status;
      this.errors = errors;
    }
  }

  // api calls the control plane; paths are relative to the page, so that a
  // proxy serving it under a prefix works.
  async function api(method, path, body) {
    const opts = { method, headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      const t = token();
      if (t) opts.headers.Authorization = 'Bearer ' + t;
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new APIError(0, 'cannot reach the control plane');
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!resp.ok) {
      const detail = (data && data.detail) || resp.statusText || 'request failed';
      throw new APIError(resp.status, detail, data && data.errors);
    }
    return data;
  }

  // ---- charts ----

  // series: the last hour of fleet rates, one point per poll.
  const series = [];
  // prev: per instance, the last heartbeat seen and the rates it gave.
  const prev = new Map();
  let prevBytes = null; // {t, in, out} from /savings

  function rate(cur, old, field, dt) {
    const d = (cur[field] || 0) - (old[field] || 0);
    return d >= 0 ? d / dt : 0; // a restarted instance starts from 0
  }

  // sample adds one point from a /fleet answer: line rates, and byte rates
  // where the heartbeats carry savings.
  function sample(instances, now) {
    const seen = new Set();
    const sum = { received: 0, emitted: 0, filtered: 0, dropped: 0 };
    const bytes = { ingest: 0, egress: 0 };
    let hasBytes = false;
    for (const hb of instances) {
      seen.add(hb.id);
      const p = prev.get(hb.id);
      let rates = p ? p.rates : null;
      if (p && hb.updated_unix_ms > p.hb.updated_unix_ms) {
        const dt = (hb.updated_unix_ms - p.hb.updated_unix_ms) / 1000;
        rates = {};
        for (const f of Object.keys(sum)) rates[f] = rate(hb, p.hb, f, dt);
        if (hb.savings && p.hb.savings) {
          rates.bytes = {
            ingest: rate(hb.savings, p.hb.savings, 'bytes_received', dt),
            egress: rate(hb.savings, p.hb.savings, 'bytes_emitted', dt),
          };
        }
        prev.set(hb.id, { hb, rates });
      } else if (!p) {
        prev.set(hb.id, { hb, rates: null });
      }
      if (rates) for (const f of Object.keys(sum)) sum[f] += rates[f];
      if (rates && rates.bytes) {
        bytes.ingest += rates.bytes.ingest;
        bytes.egress += rates.bytes.egress;
        hasBytes = true;
      }
    }
    for (const id of [...prev.keys()]) if (!seen.has(id)) prev.delete(id);
    const ready = [...prev.values()].some((p) => p.rates);
    if (!ready) return;
    series.push({ t: now, lines: sum, bytes: hasBytes ? bytes : null });
    while (series.length && series[0].t < now - WINDOW_MS) series.shift();
  }

  // sampleBytes records fleet bytes in and out read from /savings, where
  // the heartbeats carry none (sample).
  // The totals move once per heartbeat, less often than the page polls:
  // a rate is taken between two polls that saw them move, and kept while
  // they stand still, so that the chart does not fall to 0 in between.
  function sampleBytes(b, now) {
    if (!b) return;
    const last = series[series.length - 1];
    if (last && last.t === now && last.bytes) return; // from the heartbeats
    if (prevBytes && b.in === prevBytes.in && b.out === prevBytes.out) {
      if (last && last.t === now && prevBytes.rate) last.bytes = prevBytes.rate;
      return;
    }
    let rate = null;
    if (prevBytes && now > prevBytes.t) {
      const dt = (now - prevBytes.t) / 1000;
      rate = {
        ingest: Math.max(0, (b.in - prevBytes.in) / dt),
        egress: Math.max(0, (b.out - prevBytes.out) / dt),
      };
      if (last && last.t === now) last.bytes = rate;
    }
    prevBytes = { t: now, in: b.in, out: b.out, rate };
  }

  // draw renders lines into a chart: an SVG with one polyline per series,
  // a grid, and a legend with the latest values. It sets data-points to the
  // number of points drawn.
  function draw(id, lines, fmt, empty) {
    const fig = $('#' + id);
    const svg = $('svg', fig);
    const W = 640;
    const H = 200;
    const L = 72; // room for the widest axis label, such as 1023 KiB/s
    const B = 18;
    const T = 6;
    svg.replaceChildren();
    const pts = lines.map((l) => l.points);
    const all = pts.flat();
    const n = Math.max(0, ...pts.map((p) => p.length));
    fig.dataset.points = String(n);
    if (!all.length) {
      svg.append(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis', text: empty || 'waiting for data…' }));
      $('.legend', fig).replaceChildren();
      return;
    }
    const t0 = Math.min(...all.map((p) => p[0]));
    const t1 = Math.max(...all.map((p) => p[0]));
    const span = Math.max(t1 - t0, POLL_MS);
    let max = Math.max(...all.map((p) => p[1]));
    max = niceCeil(max);
    const x = (t) => L + ((t - t0) / span) * (W - L - 4);
    const y = (v) => T + (1 - v / max) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      svg.append(svgEl('line', { x1: L, x2: W - 4, y1: y(v), y2: y(v), class: 'grid' }));
      svg.append(svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis', text: fmt(v) }));
    }
    svg.append(svgEl('text', { x: L, y: H - 4, class: 'axis', text: '−' + fmtAge(t1 - t0) }));
    svg.append(svgEl('text', { x: W - 4, y: H - 4, 'text-anchor': 'end', class: 'axis', text: 'now' }));
    const legend = [];
    lines.forEach((l, i) => {
      if (!l.points.length) return;
      const p = l.points.map(([t, v]) => x(t).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');
      svg.append(svgEl('polyline', { points: p, class: 's' + i, 'data-series': l.name }));
      const lastV = l.points[l.points.length - 1][1];
      legend.push(el('span', null, el('span', { class: 'sw b' + i }), `${l.name} ${fmt(lastV)}`));
    });
    $('.legend', fig).replaceChildren(...legend);
  }

  function niceCeil(v) {
    if (!(v > 0)) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * e) return m * e;
    return 10 * e;
  }

  function drawCharts() {
    const pick = (f) => series.map((s) => [s.t, s.lines[f]]);
    draw('chart-lines', [
      { name: 'ingest', points: pick('received') },
      { name: 'egress', points: pick('emitted') },
      { name: 'filtered', points: pick('filtered') },
      { name: 'dropped', points: pick('dropped') },
    ], (v) => fmtNum(v) + '/s');
    const withBytes = series.filter((s) => s.bytes);
    draw('chart-bytes', [
      { name: 'ingest', points: withBytes.map((s) => [s.t, s.bytes.ingest]) },
      { name: 'egress', points: withBytes.map((s) => [s.t, s.bytes.egress]) },
    ], (v) => fmtBytes(v) + '/s', savingsState === 'absent' ? 'no byte counts on this control plane' : '');
    const note = $('#chart-bytes .note');
    note.hidden = savingsState !== 'absent';
    note.textContent = 'The heartbeats carry line counts only; byte rates come from GET /savings, which this control plane does not serve.';
    if (series.length > 1) {
      $('#traffic-window').textContent = `(last ${fmtAge(series[series.length - 1].t - series[0].t)}, every ${fmtAge(POLL_MS)})`;
    }
  }

  // ---- fleet ----

  let publishedVersion = '';

  function renderFleet(instances, now) {
    const tb = $('#instances tbody');
    const rows = instances.map((hb) => {
      const age = now - hb.updated_unix_ms;
      const rejected = hb.rejected_version
        ? `${hb.rejected_version}: ${hb.last_error || 'rejected'}`
        : '';
      return el('tr', { 'data-id': hb.id },
        el('td', { class: 'mono', text: hb.id }),
        el('td', { text: hb.host }),
        el('td', { class: 'version' + (publishedVersion && hb.version !== publishedVersion ? ' bad' : ''), text: hb.version || 'built-in default' }),
        el('td', { class: hb.redis_status === 'connected' ? 'ok' : 'bad', text: hb.redis_status || '–' }),
        el('td', { class: 'num', text: fmtNum(hb.received) }),
        el('td', { class: 'num', text: fmtNum(hb.emitted) }),
        el('td', { class: 'num', text: fmtNum(hb.filtered) }),
        el('td', { class: 'num', text: fmtNum(hb.sampled) }),
        el('td', { class: 'num' + (hb.dropped ? ' bad' : ''), text: fmtNum(hb.dropped) }),
        el('td', { class: 'num', text: fmtNum(hb.dead_lettered) }),
        el('td', { class: 'num' + (hb.egress_pii ? ' bad' : ''), text: fmtNum(hb.egress_pii) }),
        el('td', { class: rejected || hb.ingest_closed ? 'bad' : '', text: rejected || (hb.ingest_closed ? 'ingest closed: ' + hb.ingest_closed : '') }),
        el('td', { class: 'muted small', text: hb.build_version || '' }),
        el('td', { class: 'num', text: fmtAge(age) + ' ago' }));
    });
    if (!rows.length) rows.push(el('tr', null, el('td', { colspan: 14, class: 'muted', text: 'No data plane has sent a heartbeat to this Redis.' })));
    tb.replaceChildren(...rows);

    const oq = [];
    for (const hb of instances) {
      for (const o of hb.outputs || []) {
        oq.push(el('tr', null,
          el('td', { class: 'mono', text: hb.id }),
          el('td', { class: 'mono', text: o.name }),
          el('td', { text: o.buffer }),
          el('td', { class: 'num', text: fmtNum(o.queued_lines) }),
          el('td', { class: 'num', text: fmtBytes(o.memory_bytes) }),
          el('td', { class: 'num', text: fmtBytes(o.disk_bytes) }),
          el('td', { class: 'num', text: o.oldest_line_age_seconds ? fmtAge(o.oldest_line_age_seconds * 1000) : '–' }),
          el('td', { class: 'num', text: fmtNum(o.delivered) }),
          el('td', { class: 'num' + (o.dropped ? ' bad' : ''), text: fmtNum(o.dropped) }),
          el('td', { class: 'num', text: o.latency_seconds ? fmtMillis(o.latency_seconds * 1000) : '–' }),
          el('td', { class: 'num', 'data-field': 'p99',
            title: o.latency_window_batches ? `p50 ${fmtMillis(o.latency_p50_seconds * 1000)} over ${o.latency_window_batches} batch(es)` : null,
            text: o.latency_window_batches ? fmtMillis(o.latency_p99_seconds * 1000) : '–' })));
      }
    }
    if (!oq.length) oq.push(el('tr', null, el('td', { colspan: 11, class: 'muted', text: 'No output reported.' })));
    $('#outputs-health tbody').replaceChildren(...oq);

    const versions = [...new Set(instances.map((hb) => hb.version || 'default'))];
    const rejected = instances.filter((hb) => hb.rejected_version).length;
    const redisBad = instances.filter((hb) => hb.redis_status !== 'connected').length;
    const breaker = instances.reduce((a, hb) => a + (hb.breaker_open_workers || 0), 0);
    setTile('instances', String(instances.length));
    setTile('versions', versions.length ? versions.join(', ') : '–', versions.length > 1 ? 'bad' : '');
    setTile('rejected', String(rejected), rejected ? 'bad' : 'ok');
    setTile('redis', instances.length ? (redisBad ? `${redisBad} disconnected` : 'connected') : '–', redisBad ? 'bad' : 'ok');
    setTile('breaker', String(breaker), breaker ? 'bad' : '');
    $('#fleet-note').hidden = true;
  }

  function setTile(field, text, cls) {
    const v = $(`#fleet-summary [data-field="${field}"]`);
    v.textContent = text;
    v.className = 'v' + (cls ? ' ' + cls : '');
  }

  // ---- savings (GET /savings, when the control plane has it) ----

  // savingsState is 'unknown', 'present' or 'absent' (404).
  let savingsState = 'unknown';

  // findBytes looks for fleet byte totals in a /savings answer: numbers
  // named like bytes_in and bytes_out, at its top or one level down.
  function findBytes(obj) {
    const scan = (o) => {
      if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
      let bin;
      let bout;
      for (const [k, v] of Object.entries(o)) {
        if (typeof v !== 'number') continue;
        if (/bytes_?in|in_?bytes|ingest_?bytes|bytes_?received/i.test(k)) bin = v;
        if (/bytes_?out|out_?bytes|egress_?bytes|bytes_?(sent|emitted)/i.test(k)) bout = v;
      }
      return bin !== undefined && bout !== undefined ? { in: bin, out: bout } : null;
    };
    let r = scan(obj);
    if (r) return r;
    for (const v of Object.values(obj || {})) if ((r = scan(v))) return r;
    return null;
  }

  // renderValue shows any JSON: numbers as tiles, arrays of objects as
  // tables, nested objects as sections. It makes no assumption on the
  // answer's shape beyond that.
  function renderValue(v, label) {
    if (Array.isArray(v)) {
      if (!v.length) return el('p', { class: 'muted', text: `${label}: none` });
      if (v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
        const cols = [...new Set(v.flatMap((x) => Object.keys(x)))];
        return el('div', null, el('h3', { text: label }), el('table', null,
          el('thead', null, el('tr', null, cols.map((c) => el('th', { text: c })))),
          el('tbody', null, v.map((x) => el('tr', null, cols.map((c) => cell(x[c], c)))))));
      }
      return el('p', null, el('strong', { text: label + ': ' }), v.map(String).join(', '));
    }
    if (v && typeof v === 'object') {
      const tiles = [];
      const rest = [];
      for (const [k, x] of Object.entries(v)) {
        if (x !== null && typeof x === 'object') rest.push(renderValue(x, k));
        else tiles.push(el('div', { class: 'tile' }, el('span', { class: 'k', text: k }), el('span', { class: 'v', text: fmtField(x, k) })));
      }
      return el('div', null, label ? el('h3', { text: label }) : null, tiles.length ? el('div', { class: 'tiles' }, tiles) : null, rest);
    }
    return el('p', null, el('strong', { text: label + ': ' }), fmtField(v, label));
  }

  function cell(x, k) {
    // A count by name (lines redacted by detector): "us_ssn 12, email 3".
    if (x && typeof x === 'object' && !Array.isArray(x) && Object.values(x).every((n) => typeof n === 'number')) {
      const parts = Object.entries(x).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${fmtNum(c)}`);
      return el('td', { class: 'small', text: parts.join(', ') || '–' });
    }
    if (x !== null && typeof x === 'object') return el('td', { class: 'mono small', text: JSON.stringify(x) });
    return el('td', { class: typeof x === 'number' ? 'num' : '', text: fmtField(x, k) });
  }

  function fmtField(x, k) {
    if (typeof x === 'number') {
      if (/bytes/i.test(k || '')) return fmtBytes(x);
      if (/usd|dollar|\$|cost|price/i.test(k || '')) return '$' + x.toFixed(2);
      if (/percent/i.test(k || '')) return x.toFixed(1) + ' %';
      return fmtNum(x);
    }
    if (x === undefined || x === null) return '–';
    return String(x);
  }

  async function pollSavings(now) {
    if (savingsState === 'absent') return;
    try {
      const s = await api('GET', 'savings');
      savingsState = 'present';
      $('#savings-note').hidden = true;
      // What the shadow rules would save, where the control plane has them.
      let sh = null;
      if (shadow.publish) {
        try { sh = await api('GET', 'savings?shadow=1'); } catch (e) { sh = null; }
      }
      // Per instance figures are on each data plane's /status; the
      // answer with ?shadow=1 repeats the live figures beside the shadow's.
      const live = Object.fromEntries(Object.entries(s || {}).filter(([k]) => k !== 'instances'));
      const shadowPart = sh && typeof sh === 'object' && sh.shadow ? sh.shadow : sh;
      $('#savings-body').replaceChildren(renderValue(live, ''), shadowPart ? renderValue(shadowPart, 'Shadow rules') : '');
      $('#savings').dataset.state = 'present';
      sampleBytes(findBytes(s), now);
    } catch (e) {
      if (e.status === 404) {
        savingsState = 'absent';
        $('#savings-body').replaceChildren();
        $('#savings').dataset.state = 'absent';
        const n = $('#savings-note');
        n.textContent = 'Savings accounting is not available on this control plane (GET /savings answers 404).';
        n.hidden = false;
      }
    }
  }

  // ---- shadow rules: shown when the API documents them ----

  // shadow holds how to publish as shadow and promote, read from
  // /openapi.json; null where the API has no such route.
  const shadow = { publish: null, promote: null };

  async function detectShadow() {
    let doc;
    try { doc = await api('GET', 'openapi.json'); } catch (e) { return; }
    const paths = (doc && doc.paths) || {};
    const pub = paths['/publish'] && paths['/publish'].post;
    if (pub && (pub.parameters || []).some((p) => p.name === 'shadow' && p.in === 'query')) {
      shadow.publish = 'publish?shadow=1';
    }
    for (const [p, ops] of Object.entries(paths)) {
      if (!/shadow/i.test(p) || !ops.post || p.includes('{')) continue;
      if (/promote/i.test(p)) shadow.promote = p.replace(/^\//, '');
      else if (!shadow.publish) shadow.publish = p.replace(/^\//, '');
    }
    $('#publish-shadow').hidden = !shadow.publish;
    $('#promote-shadow').hidden = !shadow.promote;
    $('#shadow-note').textContent = shadow.publish || shadow.promote ? '' : 'Shadow rules are not available on this control plane.';
  }

  // ---- draft ----

  function outputName(o) {
    if (o.type === 'console') return 'console';
    if (o.url) return o.type + ':' + o.url;
    return null; // named after a destination this page does not know
  }

  async function loadDraft() {
    try {
      const [rules, outputs, batch] = await Promise.all([api('GET', 'rules'), api('GET', 'outputs'), api('GET', 'config/batch_size')]);
      renderRules(rules);
      renderOutputs(outputs);
      const bs = $('#batch-size');
      if (document.activeElement !== bs) bs.value = batch.batch_size;
    } catch (e) {
      sayError('Cannot read the draft', e);
    }
  }

  function renderRules(rules) {
    const rows = rules.map((r, i) => el('tr', { 'data-id': r.id },
      el('td', { class: 'num', text: i + 1 }),
      el('td', { class: 'mono', text: r.id }),
      el('td', { text: r.type }),
      el('td', null, el('code', { class: 'params', text: JSON.stringify(r.params || {}) })),
      el('td', null,
        el('button', { type: 'button', text: 'Edit', onclick: () => {
          $('#rule-text').value = JSON.stringify(r, null, 2);
          $('#rule-json').open = true;
          $('#rule-text').focus();
        } }),
        ' ',
        el('button', { type: 'button', class: 'danger', text: 'Delete', onclick: () => mutate(`Delete rule ${r.id}`, 'DELETE', 'rules/' + encodeURIComponent(r.id)) }))));
    if (!rows.length) rows.push(el('tr', null, el('td', { colspan: 5, class: 'muted', text: 'No rules: every line passes unchanged.' })));
    $('#rules tbody').replaceChildren(...rows);
  }

  function renderOutputs(outputs) {
    const counts = new Map();
    const rows = outputs.map((o) => {
      let name = outputName(o);
      if (name) {
        const k = (counts.get(name) || 0) + 1;
        counts.set(name, k);
        if (k > 1) name += '#' + k;
      }
      const dest = o.url || Object.entries(o).filter(([k]) => k !== 'type' && k !== 'headers').map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
      return el('tr', null,
        el('td', { text: o.type }),
        el('td', { class: 'mono', text: dest || '–' }),
        el('td', null, name ? el('button', { type: 'button', class: 'danger', text: 'Remove',
          onclick: () => mutate(`Remove output ${name}`, 'DELETE', 'outputs/' + encodeURIComponent(name)) }) : null));
    });
    if (!rows.length) rows.push(el('tr', null, el('td', { colspan: 3, class: 'muted', text: 'No outputs: lines go to the console.' })));
    $('#outputs tbody').replaceChildren(...rows);
  }

  // mutate makes a change, says how it went, and reloads what it touches.
  async function mutate(what, method, path, body) {
    try {
      const res = await api(method, path, body);
      say('ok', `${what}: done.`);
      await loadDraft();
      return res;
    } catch (e) {
      sayError(what, e);
      return null;
    }
  }

  function parseJSON(what, text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      say('error', `${what}: not valid JSON: ${e.message}`);
      return undefined;
    }
  }

  // ---- preview ----

  async function preview() {
    const lines = $('#preview-lines').value.split('\n').filter((l) => l !== '');
    if (!lines.length) {
      say('error', 'Preview: enter at least one line.');
      return;
    }
    let res;
    try {
      res = await api('POST', 'preview', { lines });
    } catch (e) {
      sayError('Preview', e);
      return;
    }
    showPreview(res, lines);
  }

  // previewTap previews the next lines a live data plane processes, read
  // from its tap by the control plane.
  async function previewTap() {
    const n = Number($('#preview-tap-n').value) || 50;
    const button = $('#preview-tap');
    button.disabled = true;
    let res;
    try {
      res = await api('POST', 'preview', { tap: { n, wait_ms: 5000 } });
    } catch (e) {
      sayError('Preview live traffic', e);
      return;
    } finally {
      button.disabled = false;
    }
    // The answer holds what the draft makes of the lines tapped, not the
    // lines: a value a new rule of the draft would redact is never shown.
    showPreview(res, null);
  }

  // showPreview shows a preview of lines, or of lines tapped (null) which
  // the answer does not hold; res.source says which data plane's tap
  // they came from.
  function showPreview(res, lines) {
    const out = $('#preview-result');
    const t = res.totals;
    const rows = res.lines.map((l, i) => el('tr', null,
      lines ? el('td', { class: 'mono small', text: lines[i] }) : el('td', { class: 'muted small', text: `live line ${i + 1}` }),
      el('td', { class: l.kept ? 'kept' : 'dropped', text: l.kept ? 'kept' : 'dropped by ' + l.dropped_by }),
      el('td', { class: 'small', text: (l.rewritten_by || []).join(', ') }),
      el('td', { class: 'mono small out', text: l.output === undefined ? '' : l.output })));
    out.replaceChildren(...[
      el('div', { class: 'totals' },
        el('span', { text: `${t.lines} lines` }), el('span', { class: 'kept', text: `${t.kept} kept` }),
        el('span', { class: 'dropped', text: `${t.dropped} dropped` }),
        el('span', { text: `${fmtBytes(t.bytes_in)} in, ${fmtBytes(t.bytes_out)} out: ${t.saved_percent}% saved` })),
      sourceNote(res.source),
      el('table', null, el('thead', null, el('tr', null, el('th', { class: 'w-line', text: 'line' }), el('th', { class: 'w-fate', text: 'fate' }),
        el('th', { class: 'w-rw', text: 'rewritten by' }), el('th', { class: 'w-out', text: 'sent' }))),
        el('tbody', null, rows))].filter((n) => n !== null));
    out.dataset.state = 'shown';
    out.dataset.dropped = String(t.dropped);
    out.dataset.source = res.source ? res.source.instance : '';
  }

  // sourceNote says where the lines of a preview from a tap came from, or
  // is nothing for lines given.
  function sourceNote(src) {
    if (!src) return null;
    let text = `Live traffic of ${src.instance}: ${src.tapped} line(s) tapped, ${src.lines} previewed`;
    if (src.dropped_live) text += `, ${src.dropped_live} dropped by the live rules (no text to preview)`;
    if (src.bypassed) text += `, ${src.bypassed} skipped by the live rules (breaker open) and not shown`;
    if (src.timed_out) text += '; the wait ended first';
    return el('p', { class: 'muted small', 'data-field': 'source', text: text + '.' });
  }

  // ---- publish, history, rollback ----

  async function publish(path, what) {
    const force = $('#publish-force').checked;
    try {
      const res = await api('POST', force && path === 'publish' ? 'publish?force=true' : path);
      const m = res.manifest || {};
      const text = res.unchanged
        ? `${what}: the draft is what version ${m.version} holds already; nothing was published.`
        : `${what}: version ${m.version}, ${res.subscribers_notified} data plane(s) notified.`;
      if (res.warnings && res.warnings.length) say('error', text + ' Warnings:', res.warnings);
      else say('ok', text);
    } catch (e) {
      sayError(what, e);
    }
    await Promise.all([loadHistory(), loadDraft()]);
  }

  async function loadHistory() {
    let ms;
    try {
      ms = await api('GET', 'manifests');
    } catch (e) {
      sayError('Cannot read the manifest history', e);
      return;
    }
    publishedVersion = ms.length ? String(ms[0].version) : '';
    setTile('published', publishedVersion || 'none');
    const rows = ms.map((m, i) => {
      const p = (m.pipelines || [])[0] || {};
      return el('tr', { class: i === 0 ? 'live' : '', 'data-version': m.version },
        el('td', { class: 'mono', text: m.version + (i === 0 ? ' (live)' : '') }),
        el('td', { text: fmtTime(m.timestamp) }),
        el('td', { class: 'num', text: (p.processors || []).length }),
        el('td', { class: 'num', text: (p.outputs || []).length || 'console' }),
        el('td', { class: 'num', text: p.batch_size || 100 }),
        el('td', null,
          el('button', { type: 'button', text: 'View', onclick: () => {
            const v = $('#manifest-view');
            v.textContent = JSON.stringify(m, null, 2);
            v.hidden = false;
          } }),
          ' ',
          i === 0 ? null : el('button', { type: 'button', text: 'Roll back', onclick: () => {
            if (confirm(`Publish version ${m.version}'s pipelines again as a new version, and make them the draft?`)) {
              publish(`manifests/${encodeURIComponent(m.version)}/rollback`, `Rollback to ${m.version}`);
            }
          } })));
    });
    if (!rows.length) rows.push(el('tr', null, el('td', { colspan: 6, class: 'muted', text: 'Nothing published yet.' })));
    $('#manifests tbody').replaceChildren(...rows);
  }

  // ---- polling ----

  let tick = 0;
  async function poll() {
    try {
      await pollOnce();
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  async function pollOnce() {
    const now = Date.now();
    const h = $('#health');
    try {
      const f = await api('GET', 'fleet');
      h.textContent = 'control plane up';
      h.className = 'badge ok';
      sample(f.instances, now);
      renderFleet(f.instances, now);
    } catch (e) {
      h.textContent = e.status ? `fleet: ${e.status} ${e.message}` : e.message;
      h.className = 'badge bad';
      const n = $('#fleet-note');
      n.textContent = e.message;
      n.hidden = false;
    }
    await pollSavings(now);
    drawCharts();
    if (++tick % REFRESH_EVERY === 0) {
      await loadHistory();
      if (!document.querySelector('#draft :focus')) await loadDraft();
    }
  }

  // ---- wiring ----

  function wire() {
    showTokenState();
    $('#token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('#token').value.trim();
      if (!t) {
        say('error', 'API token: enter it first.');
        return;
      }
      setToken(t);
      say('ok', 'API token set for this tab; it is sent only with changes.');
    });
    $('#token-forget').addEventListener('click', () => {
      setToken('');
      say('ok', 'API token forgotten.');
    });
    $('#filter-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = ev.target;
      const id = f.elements.id.value.trim();
      const value = f.elements.value.value;
      const res = await mutate(`Add filter ${id}`, 'POST', 'rules', { id, type: 'filter', params: { value } });
      if (res) f.reset();
    });
    $('#rule-add').addEventListener('click', () => {
      const r = parseJSON('Add rule', $('#rule-text').value);
      if (r !== undefined) mutate(`Add rule ${r && r.id}`, 'POST', 'rules', r);
    });
    $('#rule-put').addEventListener('click', () => {
      const r = parseJSON('Replace rule', $('#rule-text').value);
      if (r === undefined) return;
      if (!r || !r.id) {
        say('error', 'Replace rule: id: required, to name the rule to replace.');
        return;
      }
      mutate(`Replace rule ${r.id}`, 'PUT', 'rules/' + encodeURIComponent(r.id), r);
    });
    $('#output-add').addEventListener('click', () => {
      const o = parseJSON('Add output', $('#output-text').value);
      if (o !== undefined) mutate('Add output', 'POST', 'outputs', o);
    });
    $('#outputs-clear').addEventListener('click', () => {
      if (confirm('Remove every output from the draft? (No outputs means the console.)')) mutate('Remove every output', 'DELETE', 'outputs');
    });
    $('#batch-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const n = parseInt($('#batch-size').value, 10);
      mutate(`Set batch size ${n}`, 'POST', 'config/batch_size', { batch_size: n });
    });
    $('#preview').addEventListener('click', preview);
    $('#preview-tap').addEventListener('click', previewTap);
    $('#publish').addEventListener('click', () => publish('publish', 'Publish'));
    $('#publish-shadow').addEventListener('click', () => { if (shadow.publish) publish(shadow.publish, 'Publish as shadow'); });
    $('#promote-shadow').addEventListener('click', () => { if (shadow.promote) publish(shadow.promote, 'Promote the shadow'); });
  }

  async function start() {
    wire();
    drawCharts();
    await Promise.all([loadDraft(), loadHistory(), detectShadow()]);
    poll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
