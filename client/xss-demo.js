// The injected-script demo: a login that keeps the access token in localStorage (the habit
// chapter 5 warns against), and a button standing in for a script an attacker slipped into the
// page. The "injected" code is ordinary code of this module, so the page keeps its strict CSP;
// it reads exactly what any script in the page could read, and shows it. Nothing is sent anywhere.

const $ = (id) => document.getElementById(id);

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const status = $('login-status');
  const response = await fetch('/api/token/', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ username: $('login-username').value, password: $('login-password').value }),
  });
  const body = await response.json().catch(() => ({}));
  $('login-password').value = '';
  if (!response.ok) {
    status.dataset.state = 'error';
    status.textContent = body.detail || `login refused (${response.status})`;
    return;
  }
  // ANCHOR: local_storage
  localStorage.setItem('access_token', body.access);
  // ANCHOR_END: local_storage
  status.dataset.state = 'ok';
  status.textContent = 'refresh' in body
    ? 'Logged in, but the server is in body mode: start it with --refresh-cookie for this demo.'
    : 'Logged in: the access token is in localStorage, the refresh token in an HttpOnly cookie.';
});

// ANCHOR: injected
/** What a script injected into the page can collect: all of localStorage, and document.cookie,
 *  which lists every cookie of this page except the HttpOnly ones. */
function injectedScript() {
  const storage = Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]));
  return { storage, cookies: document.cookie };
}
// ANCHOR_END: injected

$('inject-button').addEventListener('click', () => {
  const { storage, cookies } = injectedScript();
  const stolen = $('stolen');
  stolen.replaceChildren();
  const row = (term, value) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    stolen.append(dt, dd);
  };
  row('localStorage', Object.keys(storage).length ? JSON.stringify(storage) : '(empty)');
  row('document.cookie', cookies || '(no cookie a script may read)');
  const refreshReadable = cookies.split(';').some((pair) => pair.trim().startsWith('refresh_token='));
  row('the refresh token', refreshReadable ? 'read: the script has it' : 'not readable: the cookie is HttpOnly');
  stolen.dataset.accessToken = storage.access_token ? 'read' : 'absent';
  stolen.dataset.refreshCookie = refreshReadable ? 'read' : 'unreadable';
  stolen.dataset.ran = 'true';
});

document.body.dataset.ready = 'true';
