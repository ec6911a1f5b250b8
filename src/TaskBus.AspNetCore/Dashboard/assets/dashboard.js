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
    c[2].textContent = ev.state || '';
    c[2].className = 'state-' + ev.state;
    c[3].textContent = ev.priority || '';
    setTime(c[4], ev.queued);
    setTime(c[5], ev.start);
    setTime(c[6], ev.end);
    c[7].textContent = fmtDur(ev.durationMs);
    c[8].textContent = ev.worker || DASH;
    c[9].textContent = ev.error || '';
    c[9].title = ev.error || '';
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
    for (const f of ['queued', 'start', 'end', 'scheduledFor']) setTime(field(f), ev[f]);
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

  function renderStatus(s) {
    $('queue-length').textContent = 'queue: ' + (s.queueLength == null ? 'n/a' : s.queueLength);
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
  applyHistory();
  pollStatus();
  connect();
})();
