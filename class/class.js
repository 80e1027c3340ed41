// The class view: logs the instructor in, reads GET /api/class/ and draws one row per learner
// and one column per chapter.
//
// The tokens live in `session`, in this module's memory: never in localStorage or a cookie,
// so closing the tab ends the session and no other page or script can read them. The access
// token is renewed with the refresh token before it expires (a quarter of its lifetime before,
// at most a minute), so the page keeps working for a whole class. Nothing is written to the
// console. Every name and number from the server goes into the page as text, never as HTML.

/** How often the view is read again while the page is open. */
const RELOAD_MS = 15_000;
/** How long to wait before trying again when the server could not be reached. */
const RETRY_MS = 5_000;

/** @type {{username: string, access: string, refresh: string} | null} */
let session = null;
let renewalTimer = 0;
let reloadTimer = 0;
let renewals = 0;
/** @type {Promise<boolean> | null} a renewal under way, shared by whoever needs it */
let renewing = null;

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setStatus(id, state, text) {
  const status = $(id);
  status.dataset.state = state;
  status.textContent = text;
}

// ---------------------------------------------------------------------------------------------
// Times, in the browser's own time zone.

const two = (n) => String(n).padStart(2, '0');

/** `14:05`, or `2025-06-02 14:05` when it is not today: the local time of a Unix instant. */
function localTime(seconds, now = new Date()) {
  const at = new Date(seconds * 1000);
  const clock = `${two(at.getHours())}:${two(at.getMinutes())}`;
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth()
    && at.getDate() === now.getDate();
  if (sameDay) return clock;
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${clock}`;
}

/** The local time now, to the second. */
function clockNow() {
  const now = new Date();
  return `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
}

/** "just now", "4 min ago", "2 h ago". */
function ago(seconds, now = Date.now() / 1000) {
  const elapsed = Math.max(0, Math.round(now - seconds));
  if (elapsed < 60) return 'just now';
  if (elapsed < 3600) return `${Math.floor(elapsed / 60)} min ago`;
  if (elapsed < 86400) return `${Math.floor(elapsed / 3600)} h ago`;
  return `${Math.floor(elapsed / 86400)} d ago`;
}

// ---------------------------------------------------------------------------------------------
// Tokens.

/** The claims of a token we were just given (no checks: the server checks it, we only read
 *  when it expires). */
function claims(token) {
  const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const padded = part + '='.repeat((4 - (part.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** When to renew an access token, in milliseconds from now. Counted from its lifetime
 *  (`exp - iat`, both the server's clock) rather than from `exp` alone, so a laptop whose
 *  clock is off still renews in time. */
function renewalDelay(access) {
  const { exp, iat } = claims(access);
  const lifetime = Math.max(1, exp - iat);
  const lead = Math.min(60, lifetime / 4);
  return (lifetime - lead) * 1000;
}

function scheduleRenewal() {
  clearTimeout(renewalTimer);
  renewalTimer = setTimeout(() => { renew(); }, renewalDelay(session.access));
}

/** Trades the refresh token for a new access token (and, with rotation, a new refresh token).
 *  True when the session goes on. */
function renew() {
  if (!renewing) {
    renewing = renewOnce().finally(() => { renewing = null; });
  }
  return renewing;
}

async function renewOnce() {
  if (!session) return false;
  let response;
  try {
    response = await fetch('/api/token/refresh/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh: session.refresh }),
      cache: 'no-store',
    });
  } catch {
    $('session-status').textContent = 'Could not reach the server to renew the token; trying again in a few seconds.';
    clearTimeout(renewalTimer);
    renewalTimer = setTimeout(() => { renew(); }, RETRY_MS);
    return false;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.access !== 'string') {
    endSession(`Your session ended (${body.detail || `the server answered ${response.status}`}). Log in again.`);
    return false;
  }
  session.access = body.access;
  if (typeof body.refresh === 'string') session.refresh = body.refresh;
  renewals += 1;
  const status = $('session-status');
  status.dataset.renewals = String(renewals);
  status.textContent = `Logged in as ${session.username}. Token renewed at ` +
    `${clockNow()} ` +
    `(${renewals} time${renewals === 1 ? '' : 's'} so far).`;
  scheduleRenewal();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Logging in and out.

async function logIn(event) {
  event.preventDefault();
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  if (!username || !password) {
    setStatus('login-status', 'error', 'Type the instructor\'s username and password.');
    return;
  }
  $('login-button').disabled = true;
  setStatus('login-status', 'info', 'Logging in…');
  let response;
  try {
    response = await fetch('/api/token/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
      cache: 'no-store',
    });
  } catch {
    $('login-button').disabled = false;
    setStatus('login-status', 'error', 'Could not reach the server. Is it still running?');
    return;
  }
  const body = await response.json().catch(() => ({}));
  $('login-button').disabled = false;
  if (!response.ok) {
    const detail = body.detail || Object.values(body).flat().join(' ') || `status ${response.status}`;
    setStatus('login-status', 'error', `The server refused the login: ${detail}`);
    return;
  }
  $('login-password').value = '';
  session = { username, access: body.access, refresh: body.refresh };
  renewals = 0;
  $('session-status').dataset.renewals = '0';
  $('session-status').textContent = `Logged in as ${username}.`;
  setStatus('login-status', 'ok', '');
  scheduleRenewal();
  await load();
}

/** Forgets the tokens and shows the login form, with why. */
function endSession(message) {
  clearTimeout(renewalTimer);
  clearTimeout(reloadTimer);
  session = null;
  $('class-section').hidden = true;
  $('login-section').hidden = false;
  setStatus('login-status', 'error', message);
}

async function logOut() {
  const refresh = session && session.refresh;
  endSession('');
  setStatus('login-status', 'info', 'Logging out…');
  if (refresh) {
    // Revokes the refresh token, so a copy of it is worth nothing now.
    await fetch('/api/token/blacklist/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh }),
    }).catch(() => {});
  }
  setStatus('login-status', 'ok', 'Logged out.');
}

// ---------------------------------------------------------------------------------------------
// The view.

/** Reads the class view and draws it; true when it was drawn. */
async function load(retried = false) {
  clearTimeout(reloadTimer);
  if (!session) return false;
  setStatus('view-status', 'loading', 'Loading…');
  let response;
  try {
    response = await fetch('/api/class/', {
      headers: { Authorization: `Bearer ${session.access}`, Accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    setStatus('view-status', 'error', 'Could not reach the server; trying again in a few seconds.');
    reloadTimer = setTimeout(() => { load(); }, RETRY_MS);
    return false;
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 && !retried) {
    // Expired early (a laptop that slept through the renewal): renew, then try once more.
    return (await renew()) && load(true);
  }
  if (response.status === 403) {
    endSession(`${session.username} is not the instructor of this class: log in with the instructor's account.`);
    return false;
  }
  if (response.status === 404) {
    endSession('This server is not running a classroom (cargo run -- classroom).');
    return false;
  }
  if (!response.ok || !Array.isArray(body.students)) {
    setStatus('view-status', 'error', `The server answered ${response.status}: ${body.detail || 'no class view'}.`);
    reloadTimer = setTimeout(() => { load(); }, RETRY_MS);
    return false;
  }
  draw(body.students);
  $('login-section').hidden = true;
  $('class-section').hidden = false;
  setStatus('view-status', 'ok', `Updated at ${clockNow()}`);
  reloadTimer = setTimeout(() => { load(); }, RELOAD_MS);
  return true;
}

/** The chapters anyone reported, in order. */
function chaptersOf(students) {
  const names = new Set();
  for (const student of students) {
    for (const chapter of student.chapters) names.add(chapter.chapter);
  }
  return [...names].sort();
}

/** A progress bar with "solved/total" beside it. */
function bar(solved, total, label) {
  return el('span', { class: 'bar' },
    el('progress', { max: Math.max(total, 1), value: solved, 'aria-label': label }),
    el('span', { class: 'count' }, `${solved}/${total}`));
}

function chapterCell(student, name) {
  const chapter = student.chapters.find((c) => c.chapter === name);
  if (!chapter) return el('td', { 'data-chapter': name, class: 'none' }, '–');
  const cell = el('td', { 'data-chapter': name },
    bar(chapter.solved, chapter.total, `${student.username}, ${name}`));
  if (!chapter.builds) {
    cell.classList.add('broken');
    cell.append(el('span', { class: 'note' }, 'does not compile'));
  } else if (chapter.solved >= chapter.total) {
    cell.classList.add('done');
  } else if (chapter.next_step !== null) {
    cell.append(el('span', { class: 'note' }, `step ${chapter.next_step}`));
  }
  return cell;
}

function submittedCell(student) {
  if (student.submitted_at === null) {
    return el('td', { class: 'submitted missing' }, 'not submitted yet');
  }
  const at = new Date(student.submitted_at * 1000);
  return el('td', { class: 'submitted' },
    el('time', { datetime: at.toISOString(), title: at.toString() }, localTime(student.submitted_at)),
    el('span', { class: 'note' }, ago(student.submitted_at)));
}

function draw(students) {
  const chapters = chaptersOf(students);
  const head = $('class-head');
  head.replaceChildren(
    el('th', { scope: 'col' }, 'Learner'),
    el('th', { scope: 'col' }, 'Last submission'),
    el('th', { scope: 'col' }, 'Working on'),
    el('th', { scope: 'col' }, 'All steps'),
    ...chapters.map((name) => el('th', { scope: 'col', 'data-chapter': name }, name)),
  );
  const rows = students.map((student) => el('tr', { 'data-username': student.username },
    el('th', { scope: 'row' }, student.username),
    submittedCell(student),
    el('td', { class: 'working-on' }, student.working_on ?? (student.total > 0 ? 'all solved' : '–')),
    student.submitted_at === null
      ? el('td', { class: 'all none' }, '–')
      : el('td', { class: 'all' }, bar(student.solved, student.total, `${student.username}, all steps`)),
    ...chapters.map((name) => chapterCell(student, name)),
  ));
  if (rows.length === 0) {
    rows.push(el('tr', {}, el('td', { colspan: 4 + chapters.length }, 'No learners in this class yet.')));
  }
  $('class-body').replaceChildren(...rows);
  const submitted = students.filter((s) => s.submitted_at !== null).length;
  $('summary').textContent = `${students.length} learner${students.length === 1 ? '' : 's'}, ` +
    `${submitted} submitted.`;
}

// ---------------------------------------------------------------------------------------------

$('login-form').addEventListener('submit', logIn);
$('reload-button').addEventListener('click', () => { load(); });
$('logout-button').addEventListener('click', () => { logOut(); });
document.body.dataset.ready = 'true';
