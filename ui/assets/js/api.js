// The REST API client: JSON requests with the bearer token of this tab,
// a login prompt when nimbus answers 401, and Storm's error bodies
// turned into ApiError.

const TOKEN_KEY = 'squall.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// enc escapes an id as one path segment, as docs/api.md asks.
export const enc = encodeURIComponent;

let loginPending = null;

// login shows the login dialog once for every request waiting on it; it
// resolves true once a token was entered, false if the user cancelled.
function login(reason) {
  if (loginPending) return loginPending;
  const dlg = document.getElementById('login');
  const input = document.getElementById('login-token');
  document.getElementById('login-why').textContent = reason;
  input.value = '';
  loginPending = new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      loginPending = null;
      const v = input.value.trim();
      input.value = '';
      if (dlg.returnValue === 'login' && v) {
        sessionStorage.setItem(TOKEN_KEY, v);
        document.dispatchEvent(new CustomEvent('squall:login'));
        resolve(true);
      } else {
        resolve(false);
      }
    }, { once: true });
  });
  dlg.returnValue = '';
  dlg.showModal();
  input.focus();
  return loginPending;
}

// request sends one request to the REST API. opts: method, body (an
// object is sent as JSON, FormData as multipart), accept, raw (return the
// Response). It throws ApiError.
export async function request(path, opts = {}) {
  for (;;) {
    const headers = { Accept: opts.accept || 'application/json' };
    let body = opts.body;
    if (body && !(body instanceof FormData) && typeof body !== 'string') {
      body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    let resp;
    try {
      resp = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store', credentials: 'same-origin' });
    } catch (err) {
      throw new ApiError(0, `nimbus unreachable: ${err.message}`);
    }
    if (resp.status === 401) {
      const msg = await errorMessage(resp);
      if (t) logout();
      const again = await login(t ? `nimbus refused the token: ${msg}` : `nimbus asks who you are: ${msg}`);
      if (again) continue;
      throw new ApiError(401, `not logged in: ${msg}`);
    }
    if (!resp.ok) throw new ApiError(resp.status, await errorMessage(resp));
    if (opts.raw) return resp;
    return resp.json();
  }
}

// errorMessage reads Storm's error body, {"error", "errorMessage"}.
async function errorMessage(resp) {
  const text = await resp.text().catch(() => '');
  try {
    const b = JSON.parse(text);
    return b.errorMessage || b.error || `${resp.status} ${resp.statusText}`;
  } catch {
    return `${resp.status} ${resp.statusText}` + (text ? `: ${text.slice(0, 200)}` : '');
  }
}

export const get = (path) => request(path);
export const post = (path, body) => request(path, { method: 'POST', body });

// Optional routes (Storm's, not in every nimbus yet): a 404 means "not
// available", remembered so that refreshes do not ask again.
const missing = new Set();

export async function optional(path, key) {
  const k = key || path;
  if (missing.has(k)) return null;
  try {
    return await request(path);
  } catch (err) {
    if (err.status === 404 || err.status === 405 || err.status === 501) {
      missing.add(k);
      return null;
    }
    throw err;
  }
}
