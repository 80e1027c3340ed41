// The browser client: a single-page app that logs in, calls the API with its access token,
// renews that token when a call answers 401, and logs out.
//
// Cookie mode only (the server started with --refresh-cookie): the refresh token never reaches
// this script. It lives in an HttpOnly cookie scoped to /api/token/, which the browser sends on
// its own; this script only proves the request is ours by repeating the readable `csrftoken`
// cookie in the X-CSRFToken header. A server in body mode hands the refresh token to the page:
// the page refuses to keep it and says how to start the server instead, since holding it here
// would undo the point of the design. The access token lives in the module variable `access`:
// not in localStorage, not in a cookie, so no other page can read it and a reload forgets it
// (the page then gets a new one with the refresh cookie).
// Nothing is written to the console. Everything from the server goes into the page as text.

// ANCHOR: state
/** The access token, in this module's memory only. */
let access = null;
/** @type {Promise<boolean> | null} the one refresh under way, shared by every call that needs it */
let refreshing = null;
// ANCHOR_END: state

const $ = (id) => document.getElementById(id);
const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json' };

// ANCHOR: csrf
/** The value of the readable CSRF cookie, which the server wants repeated in a header. */
function csrfToken() {
  for (const pair of document.cookie.split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name === 'csrftoken') return value.join('=');
  }
  return '';
}

/** A POST to a token endpoint that spends the refresh cookie. */
function spendRefreshCookie(path) {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...JSON_HEADERS, 'X-CSRFToken': csrfToken() },
    body: '{}',
  });
}
// ANCHOR_END: csrf

// ANCHOR: login
async function logIn(username, password) {
  const response = await fetch('/api/token/', {
    method: 'POST',
    credentials: 'same-origin',
    headers: JSON_HEADERS,
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `login refused (${response.status})`);
  if ('refresh' in body) {
    // Body mode: the refresh token came to us. Drop it rather than keep it where scripts reach.
    throw new Error('The server is not in cookie mode: start it with --refresh-cookie.');
  }
  access = body.access;
}
// ANCHOR_END: login

// ANCHOR: refresh
/** Renews the access token with the refresh cookie. However many calls fail at once, one
 *  request goes out: the first caller starts it, the others wait on the same promise. */
function refreshOnce() {
  if (!refreshing) {
    refreshing = oneTabAtATime(async () => {
      count('refreshes');
      const response = await spendRefreshCookie('/api/token/refresh/');
      const body = await response.json().catch(() => ({}));
      access = response.ok ? body.access : null;
      return response.ok;
    }).finally(() => {
      refreshing = null;
    });
  }
  // How many calls wait on it, kept in the page's data-waiting (the tests watch it).
  const shared = refreshing;
  count('waiting');
  const settled = () => count('waiting', -1);
  shared.then(settled, settled);
  return shared;
}

/** The promise above is this tab's; other tabs of the page share the cookie but not the
 *  promise. A Web Lock makes their refreshes take turns, so each sends the newest cookie. */
function oneTabAtATime(work) {
  return navigator.locks ? navigator.locks.request('jwt-workbook-refresh', work) : work();
}
// ANCHOR_END: refresh

/** One request with the access token (when there is one). */
function send(path, token, init) {
  const headers = { ...JSON_HEADERS };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(path, { ...init, headers, credentials: 'same-origin' });
}

// ANCHOR: call
/** A call to the API: on a 401, one refresh (shared) and one retry, never more. */
async function api(path, init = {}) {
  const sent = access;
  const response = await send(path, sent, init);
  if (response.status !== 401) return response;
  // A call that set out before another one's refresh finished needs no refresh of its own.
  const renewed = access && access !== sent ? true : await refreshOnce();
  if (!renewed) return response;
  count('retries');
  return send(path, access, init);
}
// ANCHOR_END: call

// ANCHOR: logout
/** Logout: the server blacklists the refresh token (from its cookie) and clears both cookies. */
async function logOut() {
  const response = await spendRefreshCookie('/api/token/blacklist/');
  access = null;
  return response;
}

/** Logout everywhere: an authenticated call, so it goes through `api` like any other. */
async function logOutEverywhere() {
  const response = await api('/api/token/logout-all/', { method: 'POST', body: '{}' });
  if (response.ok) access = null;
  return response;
}
// ANCHOR_END: logout

// ---------------------------------------------------------------------------------------------
// The page around it.

function count(name, by = 1) {
  const session = $('session');
  session.dataset[name] = String(Number(session.dataset[name]) + by);
}

/** When the access token we hold expires (Unix seconds), read from its payload. */
function expiry(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))).exp;
  } catch {
    return null;
  }
}

function showSession() {
  const session = $('session');
  const exp = access ? expiry(access) : null;
  session.dataset.state = access ? 'in' : 'out';
  session.dataset.expires = exp === null ? '' : String(exp);
  session.textContent = access
    ? `Logged in; the access token in memory expires at ${new Date(exp * 1000).toLocaleTimeString()}.`
    : 'Not logged in (no access token in memory).';
}

function log(line) {
  const item = document.createElement('li');
  item.textContent = line;
  $('log').append(item);
}

async function describe(label, responsePromise) {
  try {
    const response = await responsePromise;
    const body = await response.text();
    log(`${label} → ${response.status} ${body}`);
  } catch (error) {
    log(`${label} → ${error.message}`);
  } finally {
    showSession();
    const done = $('log');
    done.dataset.done = String(Number(done.dataset.done) + 1);
  }
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = $('login-status');
  try {
    await logIn($('login-username').value, $('login-password').value);
    status.dataset.state = 'ok';
    status.textContent = 'Logged in.';
  } catch (error) {
    status.dataset.state = 'error';
    status.textContent = error.message;
  }
  $('login-password').value = '';
  showSession();
});

$('me-button').addEventListener('click', () => describe('GET /api/me/', api('/api/me/')));
$('hello-button').addEventListener('click', () => describe('GET /hello/', api('/hello/')));
$('burst-button').addEventListener('click', () => {
  for (let i = 0; i < 5; i += 1) describe(`GET /api/me/ #${i + 1}`, api('/api/me/'));
});
$('logout-button').addEventListener('click', () => describe('log out', logOut()));
$('logout-all-button').addEventListener('click', () => describe('log out everywhere', logOutEverywhere()));

// ANCHOR: on_load
// A reload forgets the access token; while the refresh cookie lives (the readable CSRF cookie
// beside it says so), one refresh gets a new one into memory.
if (csrfToken()) refreshOnce().finally(showSession);
// ANCHOR_END: on_load
showSession();
document.body.dataset.ready = 'true';
