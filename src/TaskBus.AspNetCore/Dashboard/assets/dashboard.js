// TaskBus dashboard: vanilla JS, no framework. Server data is only ever written with textContent.
'use strict';
(() => {
  const base = location.pathname.replace(/\/dashboard(\/.*)?$/, '');
  const $ = (id) => document.getElementById(id);
  const FINISHED = new Set(['success', 'failure', 'aborted', 'rate_limited', 'interrupted']);
  const MAX_RUNS = 200;
  const HISTORY_LIMIT = 25;
  const DASH = '—';
  const NOT_AUTHORISED = 'Not authorised: reload the dashboard to sign in';

  let unauthorised = false;
  let source = null;

  // ---------- helpers ----------
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v == null) continue;
        if (k === 'text') e.textContent = v;
        else if (k === 'class') e.className = v;
        else if (k === 'title') e.title = v;
        else e.setAttribute(k, v);
      }
    }
    for (const c of children) if (c != null) e.append(c); // strings become text nodes
    return e;
  }

  const pad = (n, w = 2) => String(n).padStart(w, '0');

  function fmtTime(iso) {
    if (!iso) return DASH;
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function setTime(node, iso) {
    node.textContent = fmtTime(iso);
    node.title = iso || '';
  }

  function fmtDur(ms) {
    if (ms == null || ms === '') return DASH;
    const n = Number(ms);
    if (!Number.isFinite(n)) return DASH;
    return n < 1000 ? `${n.toFixed(1)} ms` : `${(n / 1000).toFixed(2)} s`;
  }

  function findRow(tbody, key, value) {
    for (const tr of tbody.rows) if (tr.dataset[key] === value) return tr;
    return null;
  }

  function setConnection(text, cls) {
    if (unauthorised) return;
    const c = $('connection');
    c.textContent = text;
    c.className = cls;
  }

  function notAuthorised() {
    if (unauthorised) return;
    setConnection(NOT_AUTHORISED, 'error');
    unauthorised = true;
    if (source) source.close();
  }

  // Calls the API; never throws. Returns {ok, status, data, error}.
  async function api(path, { method = 'GET', body, json = false } = {}) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (json) init.headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = body;
    let res;
    try {
      res = await fetch(base + path, init);
    } catch (e) {
      return { ok: false, status: 0, data: null, error: `network error: ${e.message}` };
    }
    if (res.status === 401) notAuthorised();
    let text = '';
    try { text = await res.text(); } catch { /* ignore */ }
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    let error = null;
    if (!res.ok) {
      if (res.status === 401) error = NOT_AUTHORISED;
      else if (data && typeof data.error === 'string') error = data.error;
      else error = `HTTP ${res.status}${text && !data ? ': ' + text.slice(0, 200) : ''}`;
    }
    return { ok: res.ok, status: res.status, data, error };
  }

  // ---------- tasks ----------
  const tasks = new Map();
  const tasksBody = $('tasks').tBodies[0];
  let tasksTimer = null;

  function taskRow(t) {
    const lastRun = el('td', { 'data-field': 'lastRun' });
    if (t.lastRunState) lastRun.append(el('span', { class: 'state-' + t.lastRunState, text: t.lastRunState }), ' ');
    if (t.lastRunEnd) lastRun.append(el('span', { title: t.lastRunEnd, text: fmtTime(t.lastRunEnd) }), ' ');
    if (t.lastRunDuration != null) lastRun.append(el('span', { class: 'muted', text: fmtDur(t.lastRunDuration) }));
    if (!lastRun.childNodes.length) lastRun.textContent = DASH;
    const enabled = t.enabled ? 'yes' : 'no';
    return el('tr', { 'data-task': t.name },
      el('td', { 'data-field': 'name', class: 'name', text: t.name }),
      el('td', { 'data-field': 'description', text: t.description || '' }),
      el('td', { 'data-field': 'priority', class: 'prio-' + t.priority, text: t.priority || '' }),
      el('td', { 'data-field': 'schedule', class: 'mono', text: t.schedule || DASH }),
      el('td', { 'data-field': 'tags' }, ...(t.tags || []).map((x) => el('span', { class: 'tag', text: x }))),
      el('td', { 'data-field': 'enabled', class: enabled, text: enabled }),
      lastRun,
      el('td', { class: 'actions' },
        el('button', { type: 'button', 'data-action': 'toggle', text: t.enabled ? 'Disable' : 'Enable' }),
        el('button', { type: 'button', 'data-action': 'queue', text: 'Queue' })));
  }

  // Bumped by every change made from this page: a /tasks answer fetched before it is stale and dropped.
  let tasksGen = 0;

  async function loadTasks() {
    const gen = ++tasksGen;
    const r = await api('/tasks');
    if (gen !== tasksGen) return;
    if (!r.ok || !Array.isArray(r.data)) {
      $('tasks-error').textContent = r.error || 'unexpected response from /tasks';
      return;
    }
    $('tasks-error').textContent = '';
    tasks.clear();
    for (const t of r.data) tasks.set(t.name, t);
    tasksBody.replaceChildren(...r.data.map(taskRow));
    fillTaskOptions();
  }

  // At most one /tasks fetch per second however many events arrive.
  function scheduleTasksRefresh() {
    if (tasksTimer || unauthorised) return;
    tasksTimer = setTimeout(() => { tasksTimer = null; loadTasks(); }, 1000);
  }

  let optionNames = '';
  function fillTaskOptions() {
    const names = [...tasks.keys()];
    const key = JSON.stringify(names);
    if (key === optionNames) return;
    optionNames = key;
    const sel = $('queue-task');
    const current = sel.value;
    sel.replaceChildren(...names.map((n) => el('option', { value: n, text: n })));
    if (names.includes(current)) sel.value = current;
    $('history-task-list').replaceChildren(...names.map((n) => el('option', { value: n })));
  }

  tasksBody.addEventListener('click', async (e) => {
    const btn = e.target.closest('button[data-action]');
    if (!btn) return;
    const name = btn.closest('tr').dataset.task;
    if (btn.dataset.action === 'queue') {
      $('queue-task').value = name;
      $('queue-params').focus();
      return;
    }
    const t = tasks.get(name);
    if (!t) return;
    btn.disabled = true;
    tasksGen++;
    const r = await api('/tasks/' + encodeURIComponent(name),
      { method: 'PATCH', json: true, body: JSON.stringify({ enabled: !t.enabled }) });
    const tr = findRow(tasksBody, 'task', name);
    if (r.ok && r.data) {
      tasks.set(name, r.data);
      $('tasks-error').textContent = '';
      if (tr) tr.replaceWith(taskRow(r.data));
    } else {
      $('tasks-error').textContent = r.error || 'unexpected response';
      const b = tr && tr.querySelector('button[data-action="toggle"]');
      if (b) b.disabled = false;
    }
  });

  // ---------- queue form ----------
  function showResult(text, cls) {
    const r = $('queue-result');
    r.textContent = text;
    r.className = cls;
  }

  $('queue-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('queue-task').value;
    const raw = $('queue-params').value.trim();
    if (!name) { showResult('no task selected', 'error'); return; }
    if (raw) {
      try { JSON.parse(raw); } catch (err) { showResult(err.message, 'error'); return; }
    }
    const prio = $('queue-priority').value;
    const query = prio ? '?priority=' + encodeURIComponent(prio) : '';
    const submit = $('queue-submit');
    submit.disabled = true;
    const r = await api('/tasks/' + encodeURIComponent(name) + query,
      { method: 'POST', json: true, body: raw || undefined });
    submit.disabled = false;
    if (r.ok) showResult('queued ' + (r.data && r.data.id ? r.data.id : ''), 'ok');
    else showResult(r.error || 'error', 'error');
  });

  // ---------- run rows (live + history) ----------
  const RUN_FIELDS = ['id', 'task', 'state', 'priority', 'queued', 'start', 'end', 'duration', 'worker', 'error'];

  function runRow(ev) {
    const tr = el('tr', { 'data-run': ev.id });
    for (const f of RUN_FIELDS) tr.append(el('td', { 'data-field': f }));
    fillRunRow(tr, ev);
    return tr;
  }

  function fillRunRow(tr, ev) {
    const c = tr.cells;
    c[0].textContent = String(ev.id).slice(0, 8);
    c[0].title = ev.id;
    c[1].textContent = ev.task || '';
    // A failure that ends one round only: the same run comes back, queued, for its next attempt.
    c[2].textContent = ev.state === 'failure' && ev.willRetry ? 'failure, retrying' : (ev.state || '');
    c[2].title = ev.state === 'failure' && ev.willRetry ? 'this round failed; a retry follows (attempt ' + ((ev.retryAttempt || 0) + 1) + ')' : '';
    c[2].className = 'state-' + ev.state;
    if (ev.state === 'running' && ev.progress != null) c[2].append(progressBar(ev.progress, ev.progressMessage));
    c[3].textContent = ev.priority || '';
    setTime(c[4], ev.queued);
    setTime(c[5], ev.start);
    setTime(c[6], ev.end);
    c[7].textContent = fmtDur(ev.durationMs);
    c[8].textContent = ev.worker || DASH;
    c[9].textContent = ev.error || '';
    c[9].title = ev.error || '';
  }

  function progressBar(fraction, message) {
    const pct = Math.round(Math.max(0, Math.min(1, Number(fraction) || 0)) * 100);
    const bar = el('span', { class: 'progress', title: `${pct}%${message ? ': ' + message : ''}`, 'data-progress': String(pct) });
    const fill = el('span');
    fill.style.width = pct + '%';
    bar.append(fill);
    return bar;
  }

  // A progress report is no state change: it only redraws the run's bar (and its detail, when open).
  function onProgress(p) {
    if (!p || typeof p.id !== 'string') return;
    const ev = pending.get(p.id) || live.get(p.id);
    if (!ev || FINISHED.has(ev.state)) return;
    const updated = { ...ev, progress: p.fraction, progressMessage: p.message };
    if (pending.has(p.id)) pending.set(p.id, updated);
    else {
      live.set(p.id, updated);
      const tr = rowIndex.get(p.id);
      if (tr) fillRunRow(tr, updated);
    }
    if (p.id === detailId && detailShown) renderDetail(updated, '');
  }

  function onRowClick(e) {
    const tr = e.target.closest('tr[data-run]');
    if (tr) openDetail(tr.dataset.run);
  }

  // ---------- live runs (SSE, batched per animation frame) ----------
  const runsBody = $('runs').tBodies[0];
  const live = new Map(); // id -> latest event, for rows on screen
  const rowIndex = new Map(); // id -> its <tr> in #runs
  const pending = new Map(); // id -> latest event not yet drawn
  let scheduled = false;

  // Events of one run come from several processes (the queuing one, the worker), so they may arrive out of
  // order: a later round (retry) always wins; within a round, a state never goes back (init, queued, running, final).
  const RANK = { init: 0, queued: 1, running: 2 };
  function isNewer(ev, old) {
    if (!old) return true;
    const round = (ev.retryAttempt || 0) - (old.retryAttempt || 0) || (ev.rateLimitAttempt || 0) - (old.rateLimitAttempt || 0);
    if (round !== 0) return round > 0;
    return (RANK[ev.state] ?? 3) >= (RANK[old.state] ?? 3);
  }

  function onEvent(ev) {
    if (!ev || typeof ev.id !== 'string' || !ev.id) return;
    if (!isNewer(ev, pending.get(ev.id) || live.get(ev.id))) return;
    pending.set(ev.id, ev);
    if (FINISHED.has(ev.state) && tasks.has(ev.task)) scheduleTasksRefresh();
    if (!scheduled) {
      scheduled = true;
      if (document.hidden) setTimeout(flush, 500); // rAF is paused in background tabs
      else requestAnimationFrame(flush);
    }
  }

  function flush() {
    scheduled = false;
    const fresh = [];
    let detailEvent = null;
    for (const ev of pending.values()) {
      if (ev.id === detailId && detailShown) detailEvent = ev;
      if (live.has(ev.id)) {
        live.set(ev.id, ev);
        const tr = rowIndex.get(ev.id);
        if (tr) fillRunRow(tr, ev);
      } else {
        fresh.push(ev);
      }
    }
    pending.clear();
    if (fresh.length) {
      const frag = document.createDocumentFragment();
      const stop = Math.max(0, fresh.length - MAX_RUNS);
      for (let i = fresh.length - 1; i >= stop; i--) {
        const tr = runRow(fresh[i]);
        rowIndex.set(fresh[i].id, tr);
        live.set(fresh[i].id, fresh[i]);
        frag.append(tr);
      }
      runsBody.prepend(frag);
      while (runsBody.rows.length > MAX_RUNS) {
        const last = runsBody.lastElementChild;
        live.delete(last.dataset.run);
        rowIndex.delete(last.dataset.run);
        last.remove();
      }
    }
    if (detailEvent) renderDetail(detailEvent, '');
  }

  runsBody.addEventListener('click', onRowClick);

  function connect() {
    if (unauthorised) return;
    const es = new EventSource(base + '/tasks-events');
    source = es;
    let opened = false;
    es.onopen = () => {
      setConnection('live', 'ok');
      if (opened) scheduleTasksRefresh();
      opened = true;
    };
    es.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      onEvent(ev);
    };
    es.addEventListener('progress', (m) => {
      let p;
      try { p = JSON.parse(m.data); } catch { return; }
      onProgress(p);
    });
    es.onerror = () => {
      setConnection('reconnecting…', 'warn');
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. a non-200 answer): find out whether it is a 401, else retry.
        es.close();
        api('/tasks-status').then(() => { if (!unauthorised) setTimeout(connect, 3000); });
      }
    };
  }

  // ---------- history ----------
  const histBody = $('history').tBodies[0];
  const hist = { stack: [], cursor: null, next: null, filters: { task: '', state: '' }, seq: 0 };

  async function fetchHistory(cursor, filters) {
    const p = new URLSearchParams();
    if (filters.task) p.set('task', filters.task);
    if (filters.state) p.set('state', filters.state);
    // Worker groups may share a store: the dashboard shows its own group's runs, as its live stream does.
    if (ownQueue) p.set('queue', ownQueue);
    p.set('limit', String(HISTORY_LIMIT));
    if (cursor) p.set('cursor', cursor);
    const seq = ++hist.seq;
    const r = await api('/tasks-history?' + p);
    if (seq !== hist.seq) return null; // a newer request superseded this one
    if (!r.ok || !r.data || !Array.isArray(r.data.runs)) {
      $('history-error').textContent = r.error || 'unexpected response from /tasks-history';
      return false;
    }
    $('history-error').textContent = '';
    histBody.replaceChildren(...r.data.runs.map(runRow));
    return r.data;
  }

  function updatePager() {
    $('history-prev').disabled = hist.stack.length === 0;
    $('history-next').disabled = !hist.next;
  }

  async function applyHistory() {
    const filters = { task: $('history-task').value.trim(), state: $('history-state').value };
    hist.filters = filters;
    $('history-requeue-confirm').hidden = true;
    $('history-requeue-result').textContent = '';
    hist.stack = [];
    hist.cursor = null;
    hist.next = null;
    updatePager();
    const data = await fetchHistory(null, filters);
    if (data === null) return;
    if (data === false) histBody.replaceChildren();
    else hist.next = data.next || null;
    updatePager();
  }

  async function pageHistory(forward) {
    const target = forward ? hist.next : hist.stack[hist.stack.length - 1];
    if (forward && !target) return;
    if (!forward && hist.stack.length === 0) return;
    const data = await fetchHistory(target, hist.filters);
    if (!data) return;
    if (forward) hist.stack.push(hist.cursor);
    else hist.stack.pop();
    hist.cursor = target;
    hist.next = data.next || null;
    updatePager();
  }

  $('history-apply').addEventListener('click', applyHistory);
  $('history-task').addEventListener('keydown', (e) => { if (e.key === 'Enter') applyHistory(); });
  $('history-prev').addEventListener('click', () => pageHistory(false));
  $('history-next').addEventListener('click', () => pageHistory(true));
  histBody.addEventListener('click', onRowClick);

  // ---------- run detail ----------
  const detail = $('run-detail');
  let detailId = null;
  let detailShown = false; // true once the open run has been rendered from data
  let detailSeq = 0;
  const field = (name) => detail.querySelector(`[data-field="${name}"]`);

  function setChain(name, id) {
    const dd = field(name);
    dd.dataset.runId = id || '';
    if (id) dd.replaceChildren(el('button', { type: 'button', class: 'link', text: id }));
    else dd.textContent = DASH;
  }

  function renderDetail(ev, message) {
    $('run-detail-status').textContent = message || '';
    const text = (v) => (v == null || v === '' ? DASH : String(v));
    field('id').textContent = ev.id || '';
    field('task').textContent = text(ev.task);
    const state = field('state');
    state.textContent = text(ev.state);
    state.className = ev.state ? 'state-' + ev.state : '';
    field('priority').textContent = text(ev.priority);
    field('worker').textContent = text(ev.worker);
    for (const f of ['queued', 'start', 'end', 'scheduledFor', 'due']) setTime(field(f), ev[f]);
    const progress = field('progress');
    progress.replaceChildren();
    if (ev.progress == null) progress.textContent = DASH;
    else progress.append(`${Math.round(ev.progress * 100)}% ${ev.progressMessage || ''}`, progressBar(ev.progress, ev.progressMessage));
    $('run-cancel').hidden = !(ev.state === 'queued' || ev.state === 'running' || ev.state === 'init');
    $('run-requeue').hidden = !(FINISHED.has(ev.state) && ev.state !== 'interrupted');
    field('duration').textContent = fmtDur(ev.durationMs);
    field('retryAttempt').textContent = text(ev.retryAttempt);
    field('rateLimitAttempt').textContent = text(ev.rateLimitAttempt);
    field('redelivered').textContent = ev.redelivered == null ? DASH : (ev.redelivered ? 'yes' : 'no');
    field('error').textContent = ev.error || '';
    field('params').textContent = ev.params == null ? DASH : JSON.stringify(ev.params, null, 2);
    setChain('fromRunId', ev.fromRunId);
    setChain('rootRunId', ev.rootRunId);
  }

  async function openDetail(id) {
    if (!id) return;
    if (id !== detailId) $('run-action-result').textContent = '';
    const seq = ++detailSeq;
    detailId = id;
    detailShown = false;
    detail.hidden = false;
    $('run-detail-status').textContent = 'loading…';
    const r = await api('/tasks-history/' + encodeURIComponent(id));
    if (seq !== detailSeq) return;
    const fallback = pending.get(id) || live.get(id);
    if (r.ok && r.data) renderDetail(r.data, '');
    else if (fallback) renderDetail(fallback, 'not stored: showing the last live event');
    else renderDetail({ id }, r.status === 404 ? 'not stored' : r.error);
    detailShown = true;
    detail.scrollIntoView({ block: 'nearest' });
  }

  detail.addEventListener('click', (e) => {
    const dd = e.target.closest('[data-field="fromRunId"], [data-field="rootRunId"]');
    if (dd && dd.dataset.runId) openDetail(dd.dataset.runId);
  });

  async function runAction(action) {
    const id = detailId;
    if (!id) return;
    const result = $('run-action-result');
    result.textContent = '…';
    result.className = 'muted';
    const r = await api(`/tasks-history/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    if (action === 'cancel') {
      if (r.ok) {
        result.textContent = r.status === 202 ? 'cancel sent: its worker stops it' : 'cancelled';
        result.className = 'ok';
        if (r.data) onEvent(r.data);
      } else {
        result.textContent = r.error || 'error';
        result.className = 'error';
      }
    } else if (r.ok && r.data && r.data.newRunId) {
      result.textContent = 'requeued as ';
      result.append(el('button', { type: 'button', class: 'link', 'data-run-id': r.data.newRunId, text: r.data.newRunId }));
      result.className = 'ok';
    } else {
      result.textContent = (r.data && r.data.error) || r.error || 'error';
      result.className = 'error';
    }
    if (id === detailId) {
      const s = await api('/tasks-history/' + encodeURIComponent(id));
      if (s.ok && s.data && id === detailId) renderDetail(s.data, '');
    }
  }

  $('run-cancel').addEventListener('click', () => runAction('cancel'));
  $('run-requeue').addEventListener('click', () => runAction('requeue'));
  $('run-action-result').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-run-id]');
    if (b) openDetail(b.dataset.runId);
  });

  $('run-detail-close').addEventListener('click', () => {
    detailSeq++;
    detailId = null;
    detailShown = false;
    detail.hidden = true;
  });

  // ---------- workers / queue length ----------
  const workersBody = $('workers').tBodies[0];

  function ago(iso) {
    const t = Date.parse(iso);
    if (!iso || Number.isNaN(t)) return DASH;
    return `${Math.max(0, Math.round((Date.now() - t) / 1000))} s ago`;
  }

  let paused = false;
  // This process's worker group, from its status: the history shows that group's runs.
  let ownQueue = '';
  function renderStatus(s) {
    $('queue-length').textContent = 'queue: ' + (s.queueLength == null ? 'n/a' : s.queueLength);
    paused = !!s.paused;
    if (s.queue && s.queue.queue) ownQueue = s.queue.queue;
    $('paused').hidden = !paused;
    $('pause-toggle').textContent = paused ? 'Resume' : 'Pause';
    $('history-size').textContent = s.history ? `history: ${s.history.runs} runs` + (s.history.retention ? ` (kept ${s.history.retention})` : '') : '';
    const workers = Array.isArray(s.workers) ? s.workers : [];
    workersBody.replaceChildren(...workers.map((w) => {
      const running = Array.isArray(w.runningTasks) ? (w.runningTasks.join(', ') || '0') : String(w.runningTasks ?? DASH);
      return el('tr', { 'data-worker': w.id },
        el('td', { 'data-field': 'id', class: 'mono', text: w.id }),
        el('td', { 'data-field': 'host', text: w.host || '' }),
        el('td', { 'data-field': 'runningTasks', text: running }),
        el('td', { 'data-field': 'lastHeartbeat', title: w.lastHeartbeat || '', text: ago(w.lastHeartbeat) }));
    }));
  }

  async function pollStatus() {
    const r = await api('/tasks-status');
    if (r.ok && r.data) renderStatus(r.data);
    if (!unauthorised) setTimeout(pollStatus, 2000);
  }

  $('pause-toggle').addEventListener('click', async () => {
    const btn = $('pause-toggle');
    btn.disabled = true;
    const r = await api(paused ? '/tasks-queue/resume' : '/tasks-queue/pause', { method: 'POST' });
    btn.disabled = false;
    if (r.ok && r.data) {
      paused = !!r.data.paused;
      $('paused').hidden = !paused;
      btn.textContent = paused ? 'Resume' : 'Pause';
    }
  });

  // ---------- delayed runs ----------
  const delayedBody = $('delayed').tBodies[0];
  async function loadDelayed() {
    const r = await api('/tasks-delayed?limit=50');
    if (!r.ok || !Array.isArray(r.data)) return;
    delayedBody.replaceChildren(...r.data.map((d) => el('tr', { 'data-run': d.runId },
      el('td', { 'data-field': 'runId', class: 'mono', title: d.runId, text: d.runId.slice(0, 8) }),
      el('td', { 'data-field': 'task', text: d.task }),
      el('td', { 'data-field': 'due', title: d.due, text: fmtTime(d.due) }))));
  }
  delayedBody.addEventListener('click', onRowClick);

  // ---------- last hour's chart: runs per minute by final state, drawn as stacked bars ----------
  const CHART_STATES = ['success', 'failure', 'aborted', 'rate_limited'];
  const CHART_COLOURS = { success: '#3a9d5d', failure: '#d64545', aborted: '#e0a030', rate_limited: '#8a6fd1' };
  const SVG = 'http://www.w3.org/2000/svg';
  $('chart-legend').replaceChildren(...CHART_STATES.map((s) => {
    const i = el('i');
    i.style.background = CHART_COLOURS[s];
    return el('span', null, i, s);
  }));

  async function loadChart() {
    const r = await api('/tasks-stats?minutes=60');
    if (!r.ok || !Array.isArray(r.data)) return;
    const now = Date.now();
    const start = Math.floor(now / 60000) * 60000 - 59 * 60000;
    const minutes = Array.from({ length: 60 }, () => ({}));
    for (const c of r.data) {
      const i = Math.round((Date.parse(c.minute) - start) / 60000);
      if (i >= 0 && i < 60) minutes[i][c.state] = (minutes[i][c.state] || 0) + c.count;
    }
    const max = Math.max(1, ...minutes.map((m) => CHART_STATES.reduce((n, s) => n + (m[s] || 0), 0)));
    const svg = $('chart');
    const bars = [];
    minutes.forEach((m, i) => {
      let y = 120;
      for (const s of CHART_STATES) {
        if (!m[s]) continue;
        const h = (m[s] / max) * 116;
        y -= h;
        const rect = document.createElementNS(SVG, 'rect');
        rect.setAttribute('x', String(i * 10 + 1));
        rect.setAttribute('y', String(y));
        rect.setAttribute('width', '8');
        rect.setAttribute('height', String(h));
        rect.setAttribute('fill', CHART_COLOURS[s]);
        rect.setAttribute('data-state', s);
        const title = document.createElementNS(SVG, 'title');
        title.textContent = `${fmtTime(new Date(start + i * 60000).toISOString())}: ${m[s]} ${s}`;
        rect.append(title);
        bars.push(rect);
      }
    });
    svg.replaceChildren(...bars);
    svg.dataset.total = String(minutes.reduce((n, m) => n + CHART_STATES.reduce((k, s) => k + (m[s] || 0), 0), 0));
  }

  async function pollSlow() {
    await Promise.all([loadChart(), loadDelayed()]);
    if (!unauthorised) setTimeout(pollSlow, 5000);
  }

  // ---------- requeue from the history ----------
  function requeueQuery(dry) {
    const p = new URLSearchParams();
    if (hist.filters.task) p.set('task', hist.filters.task);
    if (hist.filters.state) p.set('state', hist.filters.state);
    p.set('limit', '1000');
    if (dry) p.set('dryRun', 'true');
    return '/tasks-history/requeue?' + p;
  }

  $('history-requeue').addEventListener('click', async () => {
    const result = $('history-requeue-result');
    if (!hist.filters.task && !hist.filters.state) {
      result.textContent = 'choose a task or a state first (and Apply)';
      return;
    }
    const r = await api(requeueQuery(true), { method: 'POST' });
    if (!r.ok || !r.data) { result.textContent = r.error || 'error'; return; }
    result.textContent = `${r.data.requeued} of ${r.data.matched} matching runs would be queued again`;
    $('history-requeue-confirm').hidden = r.data.requeued === 0;
  });

  $('history-requeue-confirm').addEventListener('click', async () => {
    const result = $('history-requeue-result');
    $('history-requeue-confirm').hidden = true;
    const r = await api(requeueQuery(false), { method: 'POST' });
    result.textContent = r.ok && r.data ? `requeued ${r.data.requeued} of ${r.data.matched}` : (r.error || 'error');
  });

  // ---------- error queue ----------
  const errorsBody = $('errors').tBodies[0];

  function selectedErrors() {
    return [...errorsBody.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.closest('tr').dataset.runId);
  }

  function updateErrorButtons() {
    const any = selectedErrors().length > 0;
    $('errors-requeue').disabled = !any;
    $('errors-discard').disabled = !any;
  }

  async function loadErrors() {
    const r = await api('/tasks-errors?limit=200');
    if (!r.ok || !Array.isArray(r.data)) {
      $('errors-error').textContent = r.error || 'unexpected response from /tasks-errors';
      return;
    }
    $('errors-error').textContent = '';
    $('errors-all').checked = false;
    errorsBody.replaceChildren(...r.data.map((m) => el('tr', { 'data-run-id': m.runId },
      el('td', null, m.runId ? el('input', { type: 'checkbox', title: 'Select' }) : null),
      el('td', { 'data-field': 'runId', class: 'mono', title: m.runId, text: m.runId ? m.runId.slice(0, 8) : DASH }),
      el('td', { 'data-field': 'task', text: m.task }),
      el('td', { 'data-field': 'failedAt', title: m.failedAt || '', text: fmtTime(m.failedAt) }),
      el('td', { 'data-field': 'reason', class: 'error', title: m.reason, text: m.reason }))));
    updateErrorButtons();
  }

  async function onErrors(action) {
    const runIds = selectedErrors();
    if (runIds.length === 0) return;
    const r = await api(`/tasks-errors/${action}`, { method: 'POST', json: true, body: JSON.stringify({ runIds }) });
    if (!r.ok || !Array.isArray(r.data)) {
      $('errors-error').textContent = r.error || `unexpected response from /tasks-errors/${action}`;
      return;
    }
    if (action === 'requeue') {
      const kept = r.data.filter((o) => !o.newRunId);
      $('errors-result').textContent = `requeued ${r.data.length - kept.length}` +
        (kept.length ? `; kept ${kept.length}: ${kept.map((o) => o.error).join('; ')}` : '');
    } else {
      $('errors-result').textContent = `discarded ${r.data.length}`;
    }
    await loadErrors();
  }

  errorsBody.addEventListener('change', updateErrorButtons);
  $('errors-all').addEventListener('change', (e) => {
    for (const c of errorsBody.querySelectorAll('input[type=checkbox]')) c.checked = e.target.checked;
    updateErrorButtons();
  });
  $('errors-refresh').addEventListener('click', loadErrors);
  $('errors-requeue').addEventListener('click', () => onErrors('requeue'));
  $('errors-discard').addEventListener('click', () => onErrors('discard'));

  // ---------- start ----------
  loadErrors();
  loadTasks();
  // The first status names the group before the history is asked for.
  pollStatus().finally(applyHistory);
  pollSlow();
  connect();
})();
