// kumo's web dashboard: a client of the /v1 API (docs/api.md) with the user's bearer token, so
// it sees exactly what the API lets that user see. No framework, no build step: the server
// embeds these files in its binary (src/server/ui.h). Every text from the API is put in the page
// with textContent, never parsed as HTML.

const TOKEN_KEY = 'kumo.token';
const QUEUE_PAGE = 200;  // pending jobs shown on the queue page
const main = document.getElementById('main');

// ---- the API ----

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const token = localStorage.getItem(TOKEN_KEY);
  const headers = { Authorization: `Bearer ${token}` };
  const r = await fetch(path, { ...options, headers });
  if (r.status === 401) throw new Unauthorized();
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

// ---- small DOM helpers ----

// el('td', {class: 'num'}, 'text', child, ...): an element with attributes and children.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) e.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return e;
}

function table(headers, rows) {
  return el('table', {},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

function gpus(milli) { return String(Math.round(milli) / 1000); }

function when(t) { return t ? new Date(t * 1000).toLocaleString() : '-'; }

function age(t) {
  if (!t) return '-';
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 120) return `${Math.floor(s)}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function phase(p) { return el('span', { class: `phase-${p}` }, p); }

function jobLink(j) { return el('a', { href: `#/jobs/${j.id}` }, `${j.id}`); }

// A colour per project, stable across pages.
function colour(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h} 55% 45%)`;
}

// ---- charts: inline SVG ----

// series: [{name, colour, points: [[t, v], ...]}]; one chart with a shared y axis from 0.
function chart(series, unit) {
  const W = 800, H = 180, L = 40, B = 20;
  const all = series.flatMap((s) => s.points);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const text = (x, y, s) => {
    const t = document.createElementNS(svg.namespaceURI, 'text');
    t.setAttribute('x', x); t.setAttribute('y', y); t.textContent = s;
    svg.append(t);
  };
  if (all.length === 0) { text(L, H / 2, 'no samples yet'); return svg; }
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  const vmax = Math.max(1, ...all.map((p) => p[1]));
  const x = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 0) * (W - L - 10);
  const y = (v) => H - B - (v / vmax) * (H - B - 10);
  for (const s of series) {
    const line = document.createElementNS(svg.namespaceURI, 'polyline');
    line.setAttribute('points', s.points.map((p) => `${x(p[0])},${y(p[1])}`).join(' '));
    line.setAttribute('stroke', s.colour);
    svg.append(line);
  }
  text(2, 14, `${vmax} ${unit}`);
  text(2, H - B, '0');
  text(L, H - 4, when(t0));
  text(W - 160, H - 4, when(t1));
  return svg;
}

function legend(series) {
  return el('div', { class: 'legend' }, series.map((s) => {
    const i = el('i');
    i.style.background = s.colour;
    return el('span', {}, i, s.name);
  }));
}

// ---- pages ----

async function clusterPage() {
  const [nodes, running] = await Promise.all([api('/v1/nodes'), api('/v1/jobs?phase=Running')]);
  // Which visible job holds which GPU: from the running jobs' current tasks.
  const holder = new Map();  // "node/index" -> {job, milli}
  const details = await Promise.all(running.items.slice(0, 500).map((j) => api(`/v1/jobs/${j.id}`)));
  for (const j of details)
    for (const t of j.currentTasks || [])
      for (const g of t.gpus) holder.set(`${t.node}/${g.index}`, { job: j, milli: g.milli });
  const cards = nodes.items.map((n) => {
    let visibleMilli = 0;
    const cells = n.gpus.map((g) => {
      const h = holder.get(`${n.name}/${g.index}`);
      if (!h) return el('div', { class: 'gpu', title: g.model }, `${g.index} free`);
      visibleMilli += h.milli;
      const cell = el('a', { class: 'gpu used', href: `#/jobs/${h.job.id}`,
        title: `${g.model}: job ${h.job.id} (${h.job.project}/${h.job.user})` },
        `${g.index} ${h.job.project}`, el('br'), `job ${h.job.id}`);
      cell.style.background = colour(h.job.project);
      return cell;
    });
    const hidden = n.gpuMilliUsed - visibleMilli;
    const status = n.schedulable ? 'Schedulable' :
      (n.cordonReason.startsWith('drained') ? 'Drained' : 'Cordoned');
    return el('div', { class: `card node ${n.schedulable ? '' : 'cordoned'}` },
      el('h3', {}, n.name, ' ', el('span', { class: 'muted' }, status)),
      n.schedulable ? '' : el('p', { class: 'muted' }, n.cordonReason),
      el('div', { class: 'gpus' }, cells),
      hidden > 0 ? el('p', { class: 'muted' }, `${gpus(hidden)} GPU(s) used by other projects`) : '',
      el('p', { class: 'muted' }, `${n.tasks} task(s), ${gpus(n.gpuMilliUsed)}/${n.gpus.length} GPUs used`));
  });
  return [el('h1', {}, 'Cluster'), el('div', { class: 'nodes' }, cards), ...(await historyCharts())];
}

async function historyCharts() {
  const h = await api('/v1/history');
  const pts = (key) => h.cluster.map((s) => [s.time, s[key]]);
  const alloc = [
    { name: 'GPUs allocated', colour: '#2e6fd8', points: pts('gpusAllocated') },
    { name: 'GPUs schedulable', colour: '#98a2b3', points: pts('gpusCapacity') }];
  const queue = [
    { name: 'pending jobs', colour: '#f79009', points: pts('pendingJobs') },
    { name: 'running jobs', colour: '#12b76a', points: pts('runningJobs') }];
  return [el('h2', {}, 'Allocation, last day'), legend(alloc), chart(alloc, 'GPUs'),
    el('h2', {}, 'Queue length, last day'), legend(queue), chart(queue, 'jobs')];
}

async function queuePage() {
  // The head of the queue only: with 10,000 jobs waiting, the page stays quick (bench/ui.sh).
  const [queue, running] = await Promise.all([api(`/v1/queue?limit=${QUEUE_PAGE}`),
    api('/v1/jobs?phase=Running')]);
  const pendingRows = queue.items.map((j) => el('tr', { 'data-job': j.id },
    el('td', { class: 'num' }, j.queuePosition ?? '-'), el('td', {}, jobLink(j)), el('td', {}, j.name),
    el('td', {}, j.project), el('td', {}, j.user), el('td', {}, j.priorityClass),
    el('td', { class: 'num' }, gpus(j.gpuMilli)), el('td', {}, j.reason),
    el('td', {}, j.message), el('td', {}, age(j.submitTime))));
  const runningRows = running.items.map((j) => el('tr', { 'data-job': j.id },
    el('td', {}, jobLink(j)), el('td', {}, j.name), el('td', {}, j.project), el('td', {}, j.user),
    el('td', {}, j.priorityClass), el('td', { class: 'num' }, gpus(j.gpuMilli)),
    el('td', {}, phase(j.phase)), el('td', {}, age(j.startTime))));
  return [el('h1', {}, 'Queue'),
    el('h2', {}, `Pending (${queue.total})`),
    queue.total > queue.items.length ?
      el('p', { class: 'muted' }, `The first ${queue.items.length} in scheduling order.`) : '',
    pendingRows.length ? table(['#', 'ID', 'Name', 'Project', 'User', 'Priority', 'GPUs', 'Reason',
      'Why it waits', 'Age'], pendingRows) : el('p', { class: 'muted' }, 'Nothing is waiting.'),
    el('h2', {}, `Running (${running.items.length})`),
    runningRows.length ? table(['ID', 'Name', 'Project', 'User', 'Priority', 'GPUs', 'Phase',
      'Running for'], runningRows) : el('p', { class: 'muted' }, 'Nothing is running.')];
}

async function jobPage(id) {
  const [job, events, results, me] = await Promise.all([api(`/v1/jobs/${id}`),
    api(`/v1/jobs/${id}/events`), api(`/v1/jobs/${id}/results`), api('/v1/whoami')]);
  const log = job.attempt > 0 ? await api(`/v1/jobs/${id}/logs?offset=-8192`) : { data: '' };
  const lines = log.data.split('\n').slice(-50).join('\n');
  const terminal = ['Succeeded', 'Failed', 'Cancelled'].includes(job.phase);
  const cancel = !terminal && (me.admin || me.user === job.user) ?
    el('button', { class: 'danger', id: 'cancel', type: 'button', onclick: async (e) => {
      e.target.disabled = true;
      await api(`/v1/jobs/${id}/cancel`, { method: 'POST' });
      route();
    } }, 'Cancel job') : '';
  const tasks = (job.currentTasks || []).map((t) => el('tr', {},
    el('td', { class: 'num' }, t.rank), el('td', {}, t.group), el('td', {}, t.node),
    el('td', {}, t.gpus.map((g) => `${g.index}${g.milli < 1000 ? ` (${g.milli}m)` : ''}`).join(', ') || '-'),
    el('td', {}, t.state), el('td', { class: 'num' }, t.exitCode)));
  const timeline = el('ul', { class: 'timeline', id: 'events' }, events.items.map((e) =>
    el('li', {}, el('time', {}, when(e.time)), el('b', {}, e.type), ' ',
      e.reason ? `${e.reason}: ` : '', e.message)));
  const facts = [['Project', job.project], ['User', job.user], ['Priority', job.priorityClass],
    ['Reason', `${job.reason || '-'}${job.message ? ` — ${job.message}` : ''}`],
    ['Queue position', job.phase === 'Pending' ? job.queuePosition ?? '-' : '-'], ['Attempt', job.attempt],
    ['Failures', job.failures], ['Submitted', when(job.submitTime)],
    ['Started', when(job.startTime)], ['Ended', when(job.endTime)], ['Seed', job.seed],
    ['Spec SHA-256', job.specSha256]];
  return [el('h1', {}, `Job ${job.id} `, el('span', { class: 'muted' }, job.name), ' ', phase(job.phase)),
    el('div', { class: 'card' },
      el('dl', { class: 'kv' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))])),
      cancel),
    el('h2', {}, 'Tasks'),
    tasks.length ? table(['Rank', 'Group', 'Node', 'GPUs', 'State', 'Exit'], tasks) :
      el('p', { class: 'muted' }, 'No tasks in the current attempt.'),
    el('h2', {}, 'Events'), timeline,
    el('h2', {}, 'Log (task 0, last lines)'), el('pre', { id: 'log' }, lines || '(empty)'),
    el('h2', {}, 'Results'), resultsTable(results.items),
    el('h2', {}, 'Spec'), el('pre', {}, JSON.stringify(job.spec, null, 2))];
}

function resultsTable(items) {
  if (!items.length) return el('p', { class: 'muted' }, 'No attempt has finished yet.');
  return table(['Attempt', 'Outcome', 'Reason', 'Started', 'Ended', 'Outputs', 'Metrics'],
    items.map((r) => el('tr', {}, el('td', { class: 'num' }, r.attempt), el('td', {}, r.outcome),
      el('td', {}, r.reason), el('td', {}, when(r.startTime)), el('td', {}, when(r.endTime)),
      el('td', {}, (r.outputs || []).map((o) => `${o.path}${o.exists ? '' : ' (missing)'}`).join(', ') || '-'),
      el('td', {}, r.metrics ? Object.entries(r.metrics).map(([k, v]) => `${k}=${v}`).join(', ') : '-'))));
}

async function projectsPage() {
  const [projects, history] = await Promise.all([api('/v1/projects'), api('/v1/history')]);
  // Fair share over the last day: each project's mean allocation over the cluster's.
  const mean = (samples) => samples.length ?
    samples.reduce((a, s) => a + s.gpusAllocated, 0) / samples.length : 0;
  const clusterMean = mean(history.cluster);
  const rows = projects.items.map((p) => {
    const limit = Math.max(p.maxGpus ?? 0, p.guaranteedGpus, p.gpusInUse, 1);
    const bar = el('div', { class: 'bar', title: `${p.gpusInUse} in use, ${p.guaranteedGpus} guaranteed` },
      el('span'), el('i'));
    bar.firstChild.style.width = `${(100 * p.gpusInUse) / limit}%`;
    bar.lastChild.style.left = `${(100 * p.guaranteedGpus) / limit}%`;
    const share = clusterMean > 0 ? mean(history.projects[p.name] || []) / clusterMean : 0;
    return el('tr', {}, el('td', {}, p.name), el('td', { class: 'num' }, p.weight),
      el('td', { class: 'num' }, p.gpusInUse), el('td', { class: 'num' }, p.guaranteedGpus),
      el('td', { class: 'num' }, p.maxGpus ?? 'no cap'), el('td', {}, bar),
      el('td', { class: 'num' }, `${(100 * share).toFixed(1)}%`));
  });
  const series = projects.items.map((p) => ({ name: p.name, colour: colour(p.name),
    points: (history.projects[p.name] || []).map((s) => [s.time, s.gpusAllocated]) }));
  return [el('h1', {}, 'Projects'),
    table(['Project', 'Weight', 'GPUs in use', 'Guaranteed', 'Max', 'Use vs guarantee (tick)',
      'Share of allocation, last day'], rows),
    el('h2', {}, 'GPUs by project, last day'), legend(series), chart(series, 'GPUs')];
}

// ---- login and routing ----

function showLogin(message = '') {
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  main.replaceChildren(document.getElementById('login-form').content.cloneNode(true));
  document.getElementById('login-error').textContent = message;
  document.getElementById('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    localStorage.setItem(TOKEN_KEY, document.getElementById('token').value.trim());
    route();
  });
}

async function route() {
  if (!localStorage.getItem(TOKEN_KEY)) return showLogin();
  const hash = location.hash || '#/queue';
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', hash.startsWith(a.getAttribute('href')));
  try {
    const me = await api('/v1/whoami');
    document.getElementById('who').textContent = `${me.user}${me.admin ? ' (admin)' : ''}`;
    document.getElementById('nav').hidden = false;
    document.getElementById('logout').hidden = false;
    const job = hash.match(/^#\/jobs\/(\d+)$/);
    const page = job ? await jobPage(job[1]) :
      hash === '#/cluster' ? await clusterPage() :
      hash === '#/projects' ? await projectsPage() : await queuePage();
    main.replaceChildren(...page);
    main.dataset.loaded = hash;  // for tests: the page has rendered
  } catch (e) {
    if (e instanceof Unauthorized) {
      localStorage.removeItem(TOKEN_KEY);
      return showLogin('That token was not accepted.');
    }
    main.replaceChildren(el('p', { class: 'error', id: 'error' }, e.message));
    main.dataset.loaded = hash;
  }
}

document.getElementById('logout').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  showLogin();
});
window.addEventListener('hashchange', route);
route();
