// The token inspector: takes a JWT apart in this page.
//
// The token leaves the page only when the learner presses "Ask this server", a POST to this
// server's /api/token/verify/ (the login form sends a username and password to /api/token/;
// the public keys are fetched with nothing of the token in the request). Nothing is logged to
// the console, nothing is stored: the state lives in `current`, in memory, and is gone with the
// tab. Every piece of the token is put into the
// page as text (textContent), never as HTML. A module, so strict, and loaded after the page.

// ---------------------------------------------------------------------------------------------
// Strict decoding, as chapter 1's decoder does it, with the same messages.

const PARTS = ['header', 'payload', 'signature'];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const utf8 = new TextEncoder();

/** A token that is not a well-formed JWT, with the reason in words. */
class Malformed extends Error {
  /**
   * @param {string} message
   * @param {string} [part] the segment at fault
   * @param {number} [at] UTF-16 index of the offending character in that segment
   * @param {number} [width] its length in UTF-16 units
   */
  constructor(message, part, at, width) {
    super(message);
    this.part = part;
    this.at = at;
    this.width = width;
  }
}

/** A byte as a reader would name it in a message. */
function describeByte(byte) {
  switch (byte) {
    case 0x20: return 'a space';
    case 0x0a: return 'a line feed';
    case 0x0d: return 'a carriage return';
    case 0x09: return 'a tab';
    default:
      if (byte >= 0x21 && byte <= 0x7e) return `'${String.fromCharCode(byte)}'`;
      return `the byte 0x${byte.toString(16).padStart(2, '0')}`;
  }
}

/** base64url without padding, refusing every text that is not the one spelling of its bytes. */
function decodeBase64url(text, part) {
  const values = [];
  let byteIndex = 0;
  let at = 0;
  for (const ch of text) {
    const value = ch.length === 1 ? ALPHABET.indexOf(ch) : -1;
    if (value < 0) {
      if (ch === '=') {
        throw new Malformed(`the ${part} has '=' padding, which base64url in a JWT never has`,
          part, at, 1);
      }
      const bytes = utf8.encode(ch);
      throw new Malformed(`the ${part} has ${describeByte(bytes[0])} at byte ${byteIndex}, ` +
        'which is not in the base64url alphabet', part, at, ch.length);
    }
    values.push(value);
    byteIndex += 1;
    at += 1;
  }
  if (values.length % 4 === 1) {
    throw new Malformed(`the ${part} is ${values.length} characters long; ` +
      'no bytes encode to 4n+1 characters', part);
  }
  const out = new Uint8Array(Math.floor(values.length * 3 / 4));
  let o = 0;
  for (let i = 0; i < values.length; i += 4) {
    const group = values.slice(i, i + 4);
    const bits = group.reduce((n, v) => n * 64 + v, 0) * 64 ** (4 - group.length);
    const bytes = [(bits >> 16) & 0xff, (bits >> 8) & 0xff, bits & 0xff];
    const keep = group.length - 1;
    const spare = keep === 1 ? bits & 0xffff : keep === 2 ? bits & 0xff : 0;
    if (spare !== 0) {
      throw new Malformed(`the ${part}'s last character sets bits that no encoder sets`,
        part, text.length - 1, 1);
    }
    for (let b = 0; b < keep; b += 1) out[o++] = bytes[b];
  }
  return out;
}

/** What a JSON value is, for messages: "an array", "a string"… */
function jsonKind(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'boolean': return 'a boolean';
    case 'number': return 'a number';
    case 'string': return 'a string';
    default: return 'an object';
  }
}

function parseObject(bytes, part) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Malformed(`the ${part} does not decode to UTF-8 text`, part);
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Malformed(`the ${part} is not JSON: ${error.message}`, part);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Malformed(`the ${part} must be a JSON object, not ${jsonKind(value)}`, part);
  }
  return value;
}

/**
 * A token taken apart, or a `Malformed` thrown for the first problem, in chapter 1's order:
 * split, header, alg, payload, signature.
 */
function decodeToken(token) {
  if (token === '') throw new Malformed('the token is empty');
  const segments = token.split('.');
  if (segments.length !== 3) {
    let message = `a JWT has 3 segments separated by dots; this one has ${segments.length}`;
    if (segments.length === 5) {
      message += ' (five segments make an encrypted token, a JWE, which only its recipient\'s key opens)';
    }
    throw new Malformed(message);
  }
  const [headerText, payloadText, signatureText] = segments;
  if (headerText === '') throw new Malformed('the header segment is empty', 'header');
  if (payloadText === '') throw new Malformed('the payload segment is empty', 'payload');
  const headerBytes = decodeBase64url(headerText, 'header');
  const header = parseObject(headerBytes, 'header');
  if (typeof header.alg !== 'string') {
    throw new Malformed('the header has no "alg" string naming the algorithm', 'header');
  }
  const payloadBytes = decodeBase64url(payloadText, 'payload');
  const payload = parseObject(payloadBytes, 'payload');
  const signature = decodeBase64url(signatureText, 'signature');
  return {
    segments,
    header,
    payload,
    signature,
    sizes: [headerBytes.length, payloadBytes.length, signature.length],
    signingInput: utf8.encode(`${headerText}.${payloadText}`),
  };
}

// ---------------------------------------------------------------------------------------------
// What claims mean.

/** RFC 7519 §4.1. */
const REGISTERED = new Map([
  ['iss', 'Issuer: who made the token. A verifier accepts only the issuers it trusts, compared as exact strings.'],
  ['sub', 'Subject: whom the token is about, usually a user id, unique among the issuer\'s subjects.'],
  ['aud', 'Audience: who the token is meant for. A service refuses a token meant for another audience.'],
  ['exp', 'Expiration time: the token must be refused from this second on.'],
  ['nbf', 'Not before: the token must be refused until this second.'],
  ['iat', 'Issued at: when the token was made. With exp it gives the lifetime; one issued in the future is refused.'],
  ['jti', 'JWT ID: a unique id for this one token, so that it can be revoked (blacklisted) or a replay spotted.'],
]);

/** Some names from IANA's "JSON Web Token Claims" registry. */
const PUBLIC = new Map([
  ['name', 'OpenID Connect: the user\'s full name. Personal data.'],
  ['given_name', 'OpenID Connect: the user\'s given name. Personal data.'],
  ['family_name', 'OpenID Connect: the user\'s surname. Personal data.'],
  ['middle_name', 'OpenID Connect: the user\'s middle name. Personal data.'],
  ['nickname', 'OpenID Connect: a casual name for the user.'],
  ['preferred_username', 'OpenID Connect: the name the user wants to be shown; not a unique id.'],
  ['profile', 'OpenID Connect: the URL of the user\'s profile page.'],
  ['picture', 'OpenID Connect: the URL of the user\'s picture.'],
  ['website', 'OpenID Connect: the user\'s web site.'],
  ['email', 'OpenID Connect: the user\'s email address. Personal data.'],
  ['email_verified', 'OpenID Connect: whether the issuer checked the email address.'],
  ['gender', 'OpenID Connect: the user\'s gender. Personal data.'],
  ['birthdate', 'OpenID Connect: the user\'s date of birth. Personal data.'],
  ['zoneinfo', 'OpenID Connect: the user\'s time zone.'],
  ['locale', 'OpenID Connect: the user\'s language and country.'],
  ['phone_number', 'OpenID Connect: the user\'s phone number. Personal data.'],
  ['phone_number_verified', 'OpenID Connect: whether the issuer checked the phone number.'],
  ['address', 'OpenID Connect: the user\'s postal address. Personal data.'],
  ['updated_at', 'OpenID Connect: when the user\'s profile last changed.'],
  ['azp', 'OpenID Connect: the authorized party, the client the token was issued to.'],
  ['nonce', 'OpenID Connect: a value from the login request, echoed to defeat replays.'],
  ['auth_time', 'OpenID Connect: when the user last authenticated.'],
  ['at_hash', 'OpenID Connect: a hash of the access token issued with this ID token.'],
  ['c_hash', 'OpenID Connect: a hash of the authorization code issued with this ID token.'],
  ['acr', 'OpenID Connect: how strongly the user was authenticated (the class).'],
  ['amr', 'OpenID Connect: the methods the user authenticated with (password, otp…).'],
  ['sid', 'OpenID Connect: the session id at the issuer, for logging out.'],
  ['cnf', 'RFC 7800: the key the holder must prove it owns (proof of possession).'],
  ['events', 'RFC 8417: the events a Security Event Token reports.'],
  ['toe', 'RFC 8417: when the reported event happened.'],
  ['txn', 'RFC 8417: a transaction id.'],
  ['act', 'RFC 8693: the actor, who is acting on behalf of the subject (delegation).'],
  ['may_act', 'RFC 8693: who may act on behalf of the subject.'],
  ['scope', 'RFC 8693: the scopes (permissions) granted, separated by spaces.'],
  ['client_id', 'RFC 8693: the OAuth client the token was issued to.'],
  ['roles', 'RFC 7643 / RFC 9068: the user\'s roles.'],
  ['groups', 'RFC 7643 / RFC 9068: the groups the user belongs to.'],
  ['entitlements', 'RFC 7643 / RFC 9068: the user\'s entitlements.'],
]);

/** simplejwt's private claims, which this server writes too. */
const SIMPLEJWT = new Map([
  ['token_type', 'simplejwt: which kind of token this is ("access", "refresh" or "sliding"). Checked so that a refresh token cannot be used as an access token.'],
  ['user_id', 'simplejwt: the id of the user the token was issued to (its USER_ID_CLAIM). Today\'s simplejwt and this server write it as a string.'],
  ['refresh_exp', 'simplejwt: until when a sliding token may still be refreshed (a NumericDate).'],
]);

const TIME_CLAIMS = new Set(['exp', 'nbf', 'iat', 'auth_time', 'updated_at', 'toe', 'refresh_exp']);

/** A name in a namespace someone controls (a URI, a UUID, an OID): RFC 7519 §4.2. */
function isCollisionResistant(name) {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S/.test(name)
    || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(name)
    || /^\d+(\.\d+)+$/.test(name);
}

function claimInfo(name) {
  if (REGISTERED.has(name)) {
    return { kind: 'registered', note: REGISTERED.get(name) };
  }
  if (PUBLIC.has(name)) {
    return { kind: 'public', note: `${PUBLIC.get(name)} In the IANA JWT claims registry.` };
  }
  if (isCollisionResistant(name)) {
    return {
      kind: 'public',
      note: 'A collision-resistant name, in a namespace its owner controls (RFC 7519 §4.2): '
        + 'nobody else\'s claim will share it.',
    };
  }
  if (SIMPLEJWT.has(name)) return { kind: 'private', note: SIMPLEJWT.get(name) };
  return {
    kind: 'private',
    note: 'A name the issuer and its clients agreed on (RFC 7519 §4.3). Its meaning is theirs; '
      + 'another service may read the same name differently.',
  };
}

// ---------------------------------------------------------------------------------------------
// Time, in words.

const nowSeconds = () => Date.now() / 1000;

/** A NumericDate as `YYYY-MM-DD HH:MM:SS UTC`, or null when no date can show it. */
function utc(seconds) {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return null;
  const iso = date.toISOString();
  const fraction = Number.isInteger(seconds) ? '' : iso.slice(19, 23);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction} UTC`;
}

/** "4 min 12 s", "3 h", "2 d 1 h". */
function duration(seconds) {
  let s = Math.round(Math.abs(seconds));
  const units = [['year', 365 * 86400], ['d', 86400], ['h', 3600], ['min', 60], ['s', 1]];
  const words = [];
  for (const [unit, size] of units) {
    if (s >= size || (unit === 's' && words.length === 0)) {
      const n = Math.floor(s / size);
      s -= n * size;
      if (n > 0 || words.length === 0) {
        words.push(unit === 'year' ? `${n} year${n === 1 ? '' : 's'}` : `${n} ${unit}`);
      }
    }
    // Two units are plenty: "2 d 1 h", not "2 d 1 h 4 min 9 s".
    if (words.length === 2) break;
    if (words.length === 1 && s === 0) break;
  }
  return words.join(' ');
}

/** "in 4 min 12 s", "3 h ago", "now". */
function relative(at, now) {
  const delta = at - now;
  if (Math.abs(delta) < 0.5) return 'now';
  return delta > 0 ? `in ${duration(delta)}` : `${duration(delta)} ago`;
}

const isNumericDate = (value) => typeof value === 'number' && Number.isFinite(value);

// ---------------------------------------------------------------------------------------------
// Warnings' knowledge.

/** Secrets that appear in tutorials, defaults and cracking lists. */
const COMMON_SECRETS = [
  'secret', 'your-256-bit-secret', 'your-384-bit-secret', 'your-512-bit-secret', 'changeme',
  'change-me', 'changeit', 'password', 'Password', 'password1', 'passw0rd', '123456', '12345678',
  '1234567890', 'qwerty', 'letmein', 'admin', 'test', 'testing', 'default', 'key', 'secretkey',
  'secret-key', 'secret_key', 'SECRET_KEY', 'mysecret', 'my-secret', 'my_secret', 'mysecretkey',
  'jwt', 'jwt-secret', 'jwt_secret', 'jwtsecret', 'JWT_SECRET', 'jwt-secret-key',
  'jwt_secret_key', 'your_jwt_secret', 'your-secret-key', 'supersecret', 'super-secret',
  'super_secret', 'topsecret', 'shhhhh', 's3cr3t', 'keyboard cat', 'development', 'dev',
  'insecure', 'hello', 'abc123', 'token', 'gsdf', 'notasecret',
];

/** The HMAC key of RFC 7515 Appendix A.1, which made the RFC 7519 example token. */
const RFC7515_KEY = 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow';

const PERSONAL_KEY = /^(e-?mail|mail|email_address|name|full_?name|given_name|first_?name|family_name|last_?name|surname|middle_name|phone|phone_?number|mobile|tel|telephone|address|street|street_address|postal_code|zip|zip_?code|birth_?date|birthday|date_of_birth|dob|ssn|social_security(_number)?|national_id|passport(_number)?|tax_id|iban|credit_card|card_number|ip|ip_address|gender|location)$/i;
const SECRET_KEY = /^(password|passwd|pwd|secret|client_secret|api_?key|private_key|access_key|secret_key)$/i;
const EMAIL_VALUE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The claims (nested ones as a.b) that hold personal data or secrets. */
function sensitiveClaims(payload) {
  const personal = [];
  const secrets = [];
  const walk = (value, path) => {
    if (typeof value === 'string' && EMAIL_VALUE.test(value)) {
      personal.push(`${path} (looks like an email address)`);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      const here = path === '' ? key : `${path}.${key}`;
      if (!Array.isArray(value) && SECRET_KEY.test(key)) {
        secrets.push(here);
      } else if (!Array.isArray(value) && PERSONAL_KEY.test(key)) {
        personal.push(here);
      } else {
        walk(inner, here);
      }
    }
  };
  walk(payload, '');
  return { personal, secrets };
}

/** The algorithms this server signs with. */
const SERVER_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'];
const JOSE_ALGORITHMS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384',
  'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const HMAC_HASH = new Map([['HS256', 'SHA-256'], ['HS384', 'SHA-384'], ['HS512', 'SHA-512']]);
const DESCRIBE_ALG = new Map([
  ['HS256', 'HMAC with SHA-256 and a shared secret'],
  ['HS384', 'HMAC with SHA-384 and a shared secret'],
  ['HS512', 'HMAC with SHA-512 and a shared secret'],
  ['RS256', 'RSA (PKCS#1 v1.5) with SHA-256, a key pair'],
  ['RS384', 'RSA (PKCS#1 v1.5) with SHA-384, a key pair'],
  ['RS512', 'RSA (PKCS#1 v1.5) with SHA-512, a key pair'],
  ['PS256', 'RSA-PSS with SHA-256, a key pair'],
  ['PS384', 'RSA-PSS with SHA-384, a key pair'],
  ['PS512', 'RSA-PSS with SHA-512, a key pair'],
  ['ES256', 'ECDSA on the P-256 curve with SHA-256, a key pair'],
  ['ES384', 'ECDSA on the P-384 curve with SHA-384, a key pair'],
  ['ES512', 'ECDSA on the P-521 curve with SHA-512, a key pair'],
  ['EdDSA', 'Ed25519 signatures, a key pair'],
  ['Ed25519', 'Ed25519 signatures, a key pair'],
  ['none', 'no signature at all'],
]);

// ---------------------------------------------------------------------------------------------
// Signatures, with WebCrypto.

const subtle = globalThis.crypto && globalThis.crypto.subtle;

function noWebCrypto() {
  return 'WebCrypto is not available: the browser offers it only to secure contexts. Open the '
    + 'inspector at http://127.0.0.1 or http://localhost, or over HTTPS.';
}

async function verifyHmac(token, secret, algorithm) {
  const key = await subtle.importKey('raw', secret, { name: 'HMAC', hash: HMAC_HASH.get(algorithm) },
    false, ['verify']);
  // verify() compares in constant time; comparing the bytes ourselves would not.
  return subtle.verify('HMAC', key, token.signature, token.signingInput);
}

/** The algorithm a JWK is for: its own `alg`, else what its type and curve imply. */
function keyAlgorithm(jwk) {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv];
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return undefined;
}

/** WebCrypto's names for a JOSE public-key algorithm: how to import the key, how to verify. */
function webCryptoParams(algorithm) {
  const sha = (bits) => `SHA-${bits}`;
  const match = /^(RS|PS|ES)(256|384|512)$/.exec(algorithm);
  if (match) {
    const [, family, bits] = match;
    if (family === 'RS') {
      return { imp: { name: 'RSASSA-PKCS1-v1_5', hash: sha(bits) }, ver: { name: 'RSASSA-PKCS1-v1_5' } };
    }
    if (family === 'PS') {
      return { imp: { name: 'RSA-PSS', hash: sha(bits) }, ver: { name: 'RSA-PSS', saltLength: bits / 8 } };
    }
    const curve = { 256: 'P-256', 384: 'P-384', 512: 'P-521' }[bits];
    const size = { 256: 64, 384: 96, 512: 132 }[bits];
    return { imp: { name: 'ECDSA', namedCurve: curve }, ver: { name: 'ECDSA', hash: sha(bits) }, size };
  }
  if (algorithm === 'EdDSA' || algorithm === 'Ed25519') {
    return { imp: { name: 'Ed25519' }, ver: { name: 'Ed25519' }, size: 64 };
  }
  return null;
}

/** Only the public members: WebCrypto is given nothing the key set might add. */
function publicMembers(jwk) {
  if (jwk.kty === 'RSA') return { kty: 'RSA', n: jwk.n, e: jwk.e, ext: true };
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y, ext: true };
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ext: true };
}

/** The server's key set. A GET with nothing of the token in it. */
async function fetchJwks() {
  const response = await fetch('/.well-known/jwks.json', {
    headers: { Accept: 'application/json' },
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  const set = await response.json();
  if (!set || !Array.isArray(set.keys)) throw new Error('the answer is not a JWK Set');
  return set.keys.filter((key) => key && typeof key === 'object');
}

/** The verdict of the server's JWKS on a token: { status, text }. */
async function verifyWithJwks(token) {
  if (!subtle) return { status: 'skip', text: noWebCrypto() };
  let keys;
  try {
    keys = await fetchJwks();
  } catch (error) {
    return { status: 'skip', text: `Could not read the server's key set: ${error.message}.` };
  }
  const alg = token.header.alg;
  const kid = token.header.kid;
  let key;
  if (keys.length === 0) {
    return {
      status: 'skip',
      text: 'The server publishes no public keys: it signs with a shared secret (HS256), which it '
        + 'never publishes. Check the signature with the secret instead.',
    };
  }
  if (typeof kid === 'string') {
    key = keys.find((candidate) => candidate.kid === kid);
    if (!key) {
      return {
        status: 'fail',
        text: `The server's key set has no key with kid "${kid}": this server did not sign the `
          + 'token with any key it publishes now (another issuer, or a retired key).',
      };
    }
  } else if (keys.length === 1) {
    [key] = keys;
  } else {
    return {
      status: 'fail',
      text: `The token names no key (no kid) and the server publishes ${keys.length}: a verifier `
        + 'cannot tell which one to use, and must not try them all with the token\'s alg.',
    };
  }
  const pinned = keyAlgorithm(key);
  const name = key.kid ? `the key "${key.kid}"` : 'the server\'s key';
  if (!pinned) {
    return { status: 'skip', text: `This page does not know which algorithm ${name} is for.` };
  }
  if (pinned !== alg) {
    return {
      status: 'fail',
      text: `The header says ${alg}, but ${name} is an ${pinned} key. The algorithm comes from the `
        + 'key, never from the token: refused.',
    };
  }
  const params = webCryptoParams(pinned);
  if (!params) {
    return { status: 'skip', text: `This page cannot check ${pinned} signatures.` };
  }
  if (params.size && token.signature.length !== params.size) {
    return {
      status: 'fail',
      text: `An ${pinned} signature is ${params.size} bytes (JOSE writes r and s side by side); `
        + `this one is ${token.signature.length}.`,
    };
  }
  let cryptoKey;
  try {
    cryptoKey = await subtle.importKey('jwk', publicMembers(key), params.imp, false, ['verify']);
  } catch (error) {
    if (params.imp.name === 'Ed25519') {
      return { status: 'skip', text: 'This browser\'s WebCrypto cannot check Ed25519 signatures.' };
    }
    return { status: 'skip', text: `The browser refused ${name}: ${error.message}.` };
  }
  const valid = await subtle.verify(params.ver, cryptoKey, token.signature, token.signingInput);
  if (valid) {
    return {
      status: 'pass',
      text: `Verified with the server's JWKS: ${name}, an ${pinned} key (${DESCRIBE_ALG.get(pinned)}). `
        + 'This server made the token, and not one byte of it has changed since.',
    };
  }
  return {
    status: 'fail',
    text: `Does not verify with the server's JWKS (${name}, ${pinned}): the token was changed after `
      + 'it was signed, or signed by another key.',
  };
}

/** The bytes of a typed secret: its UTF-8 text, as Django and this server use it, or base64url. */
function secretBytes(text, encoding) {
  if (encoding === 'base64url') return decodeBase64url(text, 'secret');
  return utf8.encode(text);
}

/** Why a secret that made a signature is weak, or null. */
function secretWeakness(bytes, text, encoding) {
  if (encoding === 'text' && COMMON_SECRETS.includes(text)) {
    return `"${text}" is on every list of common secrets: anyone can forge tokens with it`;
  }
  if (bytes.length < 32) {
    return `it is ${bytes.length} bytes long; HS256 needs at least 32 random bytes (256 bits), `
      + 'or it can be guessed offline from a single token';
  }
  if (new Set(bytes).size < 8) {
    return `it uses only ${new Set(bytes).size} distinct bytes: it is not random`;
  }
  return null;
}

/** The first well-known secret the signature verifies with, or null. Runs only in this page. */
async function findCommonSecret(token) {
  const alg = token.header.alg;
  if (!subtle || !HMAC_HASH.has(alg)) return null;
  const candidates = COMMON_SECRETS.map((text) => ({
    label: `"${text}"`, bytes: utf8.encode(text), why: 'a secret on every list of common secrets',
  }));
  candidates.push({
    label: 'the example key of RFC 7515, Appendix A.1',
    bytes: decodeBase64url(RFC7515_KEY, 'secret'),
    why: 'an example key printed in a standard',
  });
  for (const candidate of candidates) {
    if (await verifyHmac(token, candidate.bytes, alg)) return candidate;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The page.

const $ = (id) => document.getElementById(id);

/** A new element: attributes (class, id, data-*, …) and children (nodes or text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (value === true) node.setAttribute(name, '');
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A JSON value pretty-printed, with its keys and values marked for colour. */
function jsonView(value, indent = '') {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return [el('span', { class: 'j-punct' }, '[]')];
    const out = ['[\n'];
    value.forEach((item, i) => {
      out.push(inner, ...jsonView(item, inner), i < value.length - 1 ? ',\n' : '\n');
    });
    out.push(`${indent}]`);
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return [el('span', { class: 'j-punct' }, '{}')];
    const out = ['{\n'];
    entries.forEach(([key, item], i) => {
      out.push(inner, el('span', { class: 'j-key' }, JSON.stringify(key)), ': ',
        ...jsonView(item, inner), i < entries.length - 1 ? ',\n' : '\n');
    });
    out.push(`${indent}}`);
    return out;
  }
  const kind = typeof value === 'string' ? 'j-str' : typeof value === 'number' ? 'j-num' : 'j-lit';
  return [el('span', { class: kind }, JSON.stringify(value))];
}

function hex(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(Array.from(bytes.slice(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  return lines.join('\n');
}

const MARKS = { pass: '✓', fail: '✗', skip: '–' };
const TICKING_CHECKS = ['exp', 'nbf', 'iat'];
const SPOKEN = { pass: 'Passed', fail: 'Failed', skip: 'Not checked' };

/** Everything known about the token on the page. Memory only. */
let current = null;
let generation = 0;
let refreshFromLogin = null;
/** After a 429: the username the server throttled, and until when (seconds). */
let loginBlocked = null;
let loginInFlight = false;

/** Reads the input as a token: surrounding whitespace and a `Bearer ` prefix go. */
function cleanInput(raw) {
  let text = raw.trim();
  const notes = [];
  if (text !== raw && raw !== '') notes.push('surrounding whitespace ignored');
  const bearer = /^Bearer\s+/i.exec(text);
  if (bearer) {
    text = text.slice(bearer[0].length);
    notes.push('"Bearer " prefix removed');
  }
  return { text, notes };
}

/** Takes a token apart and shows it; resolves once the automatic checks have run. */
async function inspect(raw, origin) {
  generation += 1;
  const mine = generation;
  const { text, notes } = cleanInput(raw);
  const state = { generation: mine, text, notes, origin };
  try {
    state.token = decodeToken(text);
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    state.error = error;
  }
  current = state;
  render(state);
  if (state.token) await automaticChecks(state);
}

function render(state) {
  const results = $('results');
  results.replaceChildren();
  if (state.text === '') {
    results.append(el('p', { class: 'empty' }, 'Nothing to inspect yet: paste a token above, or log in.'));
    if (state.origin !== 'fragment') return;
  }
  results.append(warningsSection(state));
  if (state.error) {
    if (state.text !== '') results.append(partsSection(state));
    announce(`Not a well-formed JWT: ${state.error.message}.`);
    return;
  }
  results.append(summarySection(state), partsSection(state), decodedSection(state),
    claimsSection(state), checksSection(state));
  tick();
  const count = $('warnings').children.length;
  announce(`Token inspected: ${state.token.header.alg}, ${Object.keys(state.token.payload).length} claims, `
    + `${count === 0 ? 'no warnings' : count === 1 ? '1 warning' : `${count} warnings`}.`);
}

// --- Warnings ---------------------------------------------------------------------------------

function warning(key, title, ...body) {
  return el('li', { class: 'warning', 'data-warning': key },
    el('span', { class: 'warning-icon', 'aria-hidden': 'true' }, '⚠'),
    el('div', {}, el('strong', {}, title), ' ', ...body));
}

function staticWarnings(state) {
  const items = [];
  if (state.origin === 'fragment') {
    items.push(warning('token-in-url', 'This token arrived in a URL.',
      'A token in a URL leaks into browser history, bookmarks, screenshots and screen shares (and, ',
      'in a path or query string, into server logs and Referer headers). The page has taken it ',
      'out of the address bar, but your history may hold it already: paste tokens instead.'));
  }
  if (state.error) {
    items.push(warning('malformed', 'Not a well-formed JWT:',
      el('span', { id: 'malformed-reason' }, state.error.message), '.',
      ' A verifier refuses it before reading anything else.'));
    return items;
  }
  const { header, payload, signature } = state.token;
  if (header.alg.toLowerCase() === 'none') {
    items.push(warning('alg-none', 'alg none: this token is not signed.',
      'Anyone can write one with any claims. A verifier must refuse it; libraries that obeyed ',
      'the header\'s alg have accepted such tokens as genuine.'));
  } else if (signature.length === 0) {
    items.push(warning('stripped-signature', `The header names ${header.alg} but there is no signature.`,
      'Someone who cannot forge a signature may delete it and hope the verifier skips the check: ',
      'refuse it.'));
  }
  for (const member of ['jwk', 'jku', 'x5u', 'x5c']) {
    if (Object.hasOwn(header, member)) {
      items.push(warning('key-in-header', `The header carries a key or a key URL ("${member}").`,
        'Whoever wrote the token chose it, so a verifier must never use it: keys come from the ',
        'verifier\'s own configuration, looked up at most by kid.'));
      break;
    }
  }
  const { exp, iat } = payload;
  const type = payload.token_type;
  if (!Object.hasOwn(payload, 'exp')) {
    items.push(warning('long-lifetime', 'No exp: this token never expires.',
      'Once stolen, it works forever unless the server keeps a revocation list for it.'));
  } else if (isNumericDate(exp) && isNumericDate(iat)) {
    const lifetime = exp - iat;
    if (lifetime > 30 * 86400) {
      items.push(warning('long-lifetime', `A long lifetime: ${duration(lifetime)}.`,
        'No token should live more than 30 days; a stolen one works for all that time.'));
    } else if (type === 'access' && lifetime > 3600) {
      items.push(warning('long-lifetime', `A long-lived access token: ${duration(lifetime)}.`,
        'Access tokens are checked without the database, so they cannot be revoked cheaply; keep ',
        'them short (simplejwt\'s default is 5 minutes) and use a refresh token for the rest.'));
    }
  } else if (isNumericDate(exp) && exp - nowSeconds() > 30 * 86400) {
    items.push(warning('long-lifetime', `It expires ${relative(exp, nowSeconds())}.`,
      'No token should live more than 30 days; a stolen one works for all that time.'));
  }
  const { personal, secrets } = sensitiveClaims(payload);
  if (personal.length > 0) {
    items.push(warning('personal-data', 'Personal data in the claims:',
      `${personal.join(', ')}. Whoever holds the token reads it (base64url is not encryption), `,
      'and tokens end up in logs, browser storage and bug reports. Put an id in the token and keep ',
      'the rest on the server.'));
  }
  if (secrets.length > 0) {
    items.push(warning('secret-in-claims', 'Something secret in the claims:',
      `${secrets.join(', ')}. Never put a password, key or secret in a token: anyone who holds it reads it.`));
  }
  return items;
}

function warningsSection(state) {
  const list = el('ul', { id: 'warnings', class: 'warnings' }, staticWarnings(state));
  const section = el('section', { id: 'warnings-section', class: 'block', 'aria-labelledby': 'warnings-heading' },
    el('h2', { id: 'warnings-heading' }, 'Warnings'), list,
    el('p', { id: 'no-warnings', class: 'calm', hidden: list.children.length > 0 },
      'Nothing to warn about in the token itself.'));
  if (state.notes.length > 0) {
    section.append(el('p', { class: 'help' }, `Read as a token: ${state.notes.join('; ')}.`));
  }
  return section;
}

/** Adds a warning found later (a weak secret); one per key. */
function addWarning(item) {
  const list = $('warnings');
  if (!list) return;
  const key = item.getAttribute('data-warning');
  const old = list.querySelector(`[data-warning="${key}"]`);
  if (old) old.replaceWith(item);
  else list.append(item);
  $('no-warnings').hidden = true;
}

// --- Summary ------------------------------------------------------------------------------------

function summarySection(state) {
  const { header, payload } = state.token;
  const facts = el('dl', { class: 'facts' });
  const fact = (term, ...value) => facts.append(el('div', {}, el('dt', {}, term), el('dd', {}, ...value)));
  fact('Algorithm', el('code', {}, header.alg), ' ', el('span', { class: 'muted' },
    DESCRIBE_ALG.get(header.alg) || 'not an algorithm this page knows'));
  if (typeof payload.token_type === 'string') fact('Token type', el('code', {}, payload.token_type));
  if (typeof header.kid === 'string') fact('Key id', el('code', { class: 'break' }, header.kid));
  if (isNumericDate(payload.exp) && isNumericDate(payload.iat)) {
    fact('Lifetime', duration(payload.exp - payload.iat));
  }
  return el('section', { id: 'summary', class: 'block summary', 'aria-label': 'Summary' },
    el('p', { id: 'countdown', class: 'countdown', role: 'timer', 'aria-live': 'off' }), facts);
}

// --- Parts --------------------------------------------------------------------------------------

function partsSection(state) {
  const segments = state.token ? state.token.segments : state.text.split('.');
  const code = el('code', { id: 'token-parts', class: 'token-parts' });
  const error = state.error;
  segments.forEach((segment, i) => {
    const part = PARTS[i];
    if (i > 0) code.append(el('span', { class: 'dot' }, '.'));
    const attrs = part ? { class: `part part-${part}`, 'data-part': part } : { class: 'part part-extra' };
    const span = el('span', attrs);
    if (error && error.part === part && error.at !== undefined) {
      span.append(segment.slice(0, error.at),
        el('mark', { class: 'culprit', title: 'the problem is here' }, segment.slice(error.at, error.at + error.width) || ' '),
        segment.slice(error.at + error.width));
    } else {
      span.append(segment);
    }
    code.append(span);
  });
  const section = el('section', { id: 'parts-section', class: 'block', 'aria-labelledby': 'parts-heading' },
    el('h2', { id: 'parts-heading' }, 'Three parts'));
  if (state.text !== '') section.append(el('div', { class: 'token-box' }, code));
  if (state.token) {
    const [h, p, s] = state.token.segments;
    const [hb, pb, sb] = state.token.sizes;
    const legend = el('ol', { class: 'legend' },
      el('li', { class: 'legend-header' }, el('span', { class: 'pill pill-header' }, 'Header'),
        ` ${h.length} characters → ${hb} bytes of JSON: how the token was made.`),
      el('li', { class: 'legend-payload' }, el('span', { class: 'pill pill-payload' }, 'Payload'),
        ` ${p.length} characters → ${pb} bytes of JSON: the claims, what the token is about.`),
      el('li', { class: 'legend-signature' }, el('span', { class: 'pill pill-signature' }, 'Signature'),
        s.length === 0 ? ' empty: nothing proves who wrote this token.'
          : ` ${s.length} characters → ${sb} bytes, not JSON: made from the text header.payload with a key.`));
    section.append(legend, el('p', { class: 'help' },
      'base64url is an encoding, not encryption: whoever holds the token reads all of it.'));
  }
  return section;
}

// --- Decoded ------------------------------------------------------------------------------------

function decodedSection(state) {
  const { header, payload, signature } = state.token;
  const card = (part, title, ...body) => el('figure', { class: `card card-${part}`, id: `decoded-${part}` },
    el('figcaption', {}, el('span', { class: `pill pill-${part}` }, title)), ...body);
  const signatureBody = signature.length === 0
    ? el('p', { class: 'muted' }, 'No bytes at all.')
    : [el('p', { class: 'muted' }, `${signature.length} bytes made with ${header.alg}; checked in the checklist below.`),
      el('pre', { class: 'hex' }, hex(signature))];
  return el('section', { id: 'decoded-section', class: 'block', 'aria-labelledby': 'decoded-heading' },
    el('h2', { id: 'decoded-heading' }, 'Decoded'),
    el('div', { class: 'cards' },
      card('header', 'Header', el('pre', { class: 'json' }, jsonView(header))),
      card('payload', 'Payload', el('pre', { class: 'json' }, jsonView(payload))),
      card('signature', 'Signature', signatureBody)));
}

// --- Claims -------------------------------------------------------------------------------------

function claimsSection(state) {
  const { payload } = state.token;
  const body = el('tbody');
  for (const [name, value] of Object.entries(payload)) {
    const info = claimInfo(name);
    const valueCell = el('td', { class: 'value' }, el('code', { class: 'break' }, JSON.stringify(value)));
    if (TIME_CLAIMS.has(name)) {
      if (isNumericDate(value) && utc(value)) {
        valueCell.append(el('span', { class: 'when' }, utc(value)),
          el('span', { class: 'relative', 'data-at': value }, relative(value, nowSeconds())));
      } else {
        valueCell.append(el('span', { class: 'bad' },
          typeof value === 'string' ? 'a string, not a NumericDate: a number of seconds is required'
            : 'not a NumericDate this page can read'));
      }
    }
    const safeId = /^[A-Za-z0-9_-]+$/.test(name) ? `claim-${name}` : undefined;
    body.append(el('tr', { id: safeId, 'data-kind': info.kind },
      el('th', { scope: 'row' }, el('code', { class: 'break' }, name)),
      valueCell,
      el('td', {}, el('span', { class: `kind kind-${info.kind}` }, info.kind)),
      el('td', { class: 'note' }, info.note)));
  }
  const table = el('table', { id: 'claims', class: 'claims' },
    el('caption', {}, 'Each claim in the payload: registered (RFC 7519 §4.1), public (the IANA registry, or a collision-resistant name) or private (agreed between issuer and clients).'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Claim'), el('th', { scope: 'col' }, 'Value'),
      el('th', { scope: 'col' }, 'Kind'), el('th', { scope: 'col' }, 'What it means'))),
    body);
  const section = el('section', { id: 'claims-section', class: 'block', 'aria-labelledby': 'claims-heading' },
    el('h2', { id: 'claims-heading' }, 'Claims'));
  if (body.children.length === 0) section.append(el('p', { class: 'muted' }, 'The payload has no claims.'));
  else section.append(el('div', { class: 'table-scroll' }, table));
  return section;
}

// --- Checklist ----------------------------------------------------------------------------------

function checkItem(id, title, status, text, ...controls) {
  return el('li', { id: `check-${id}`, class: 'check', 'data-status': status },
    el('span', { class: 'mark', 'aria-hidden': 'true' }, MARKS[status]),
    el('div', { class: 'check-body' },
      el('p', {}, el('span', { class: 'sr-only' }, `${SPOKEN[status]}: `), el('strong', {}, title), ' ',
        el('span', { class: 'why' }, text)),
      ...controls));
}

/** Tells a screen reader what just happened; the page itself updates silently. */
function announce(message) {
  $('announce').textContent = message;
}

function setCheck(id, status, text) {
  const item = $(`check-${id}`);
  if (!item) return;
  item.setAttribute('data-status', status);
  item.querySelector('.mark').textContent = MARKS[status];
  item.querySelector('.sr-only').textContent = `${SPOKEN[status]}: `;
  item.querySelector('.why').textContent = text;
  // The clock rewrites the time checks every second; only the answers to an action are news.
  if (!TICKING_CHECKS.includes(id)) {
    announce(`${item.querySelector('strong').textContent}: ${SPOKEN[status]}. ${text}`);
  }
}

function algorithmCheck(header) {
  const alg = header.alg;
  if (alg.toLowerCase() === 'none') {
    return ['fail', '"none" means no signature, and is never allowed: whoever made this token needed no key.'];
  }
  if (SERVER_ALGORITHMS.includes(alg)) {
    return ['pass', `${alg} (${DESCRIBE_ALG.get(alg)}) is one this server signs with. A verifier still `
      + 'takes the algorithm from its key, never from this header.'];
  }
  if (JOSE_ALGORITHMS.includes(alg)) {
    return ['skip', `${alg} is a real JWS algorithm, but not one this server uses: a verifier accepts `
      + 'only the algorithm it was configured with.'];
  }
  return ['fail', `"${alg}" is not a JWS algorithm: refuse it.`];
}

function timeCheck(name, payload, now) {
  const has = Object.hasOwn(payload, name);
  const value = payload[name];
  if (!has) {
    return {
      exp: ['fail', 'No exp: the token never expires.'],
      nbf: ['skip', 'No nbf: the token is valid from the moment it was made (neither simplejwt nor this server writes one).'],
      iat: ['skip', 'No iat: nobody can tell how old the token is (simplejwt before 2019 did not write one).'],
    }[name];
  }
  if (!isNumericDate(value)) {
    return ['fail', `${name} is ${jsonKind(value)}, not a NumericDate (a number of seconds since 1970): refuse it.`];
  }
  const when = utc(value) || `${value}`;
  const rel = relative(value, now);
  if (name === 'exp') {
    return value > now
      ? ['pass', `Not expired: it expires ${rel} (${when}), by your browser's clock.`]
      : ['fail', `Expired ${rel} (${when}): every verifier must refuse it now.`];
  }
  if (name === 'nbf') {
    return value <= now
      ? ['pass', `Valid since ${when} (${rel}).`]
      : ['fail', `Not valid yet: only from ${when}, ${rel}.`];
  }
  return value <= now + 60
    ? ['pass', `Issued ${rel} (${when}).`]
    : ['fail', `Issued in the future (${when}, ${rel}): the issuer's clock, or yours, is wrong; refuse it.`];
}

function typeCheck(header, payload) {
  const typ = typeof header.typ === 'string' ? ` The header's typ is "${header.typ}".` : '';
  const type = payload.token_type;
  if (!Object.hasOwn(payload, 'token_type')) {
    return ['fail', `No token_type: simplejwt and this server refuse such a token, since nothing says whether it is an access or a refresh token.${typ}`];
  }
  if (['access', 'refresh', 'sliding'].includes(type)) {
    const use = { access: 'calling the API', refresh: 'getting new tokens at /api/token/refresh/', sliding: 'both calling the API and being refreshed' }[type];
    return ['pass', `token_type is "${type}": good only for ${use}. Checking it stops one kind of token being used as another.${typ}`];
  }
  return ['fail', `token_type is ${JSON.stringify(type)}, which is none of "access", "refresh" or "sliding".${typ}`];
}

function jtiCheck(payload) {
  const jti = payload.jti;
  if (typeof jti === 'string' && jti !== '') {
    return ['pass', `jti is "${jti}": this one token can be revoked, and a replay recognised.`];
  }
  if (Object.hasOwn(payload, 'jti')) return ['fail', `jti is ${jsonKind(jti)}: it must be a non-empty string.`];
  return ['fail', 'No jti: the server cannot revoke this token alone, only everything of its user.'];
}

function initialSignature(state) {
  const { header, signature } = state.token;
  const alg = header.alg;
  if (alg.toLowerCase() === 'none') {
    return ['fail', 'alg is none and there is nothing to check: anyone could have written this token.'];
  }
  if (signature.length === 0) {
    return ['fail', `The header names ${alg} but the signature is empty: stripped. Refuse it.`];
  }
  if (!subtle) return ['skip', noWebCrypto()];
  if (HMAC_HASH.has(alg)) {
    return ['skip', `Not checked yet: an ${alg} signature can only be checked with the secret that made it. Type it below; it never leaves this page.`];
  }
  return ['skip', 'Checking with the server\'s public keys…'];
}

function checksSection(state) {
  const { header, payload } = state.token;
  const now = nowSeconds();
  const secretForm = el('form', { id: 'secret-form', class: 'row', 'aria-label': 'Check the signature with a secret' },
    el('div', { class: 'field grow' },
      el('label', { for: 'secret-input' }, 'Secret'),
      el('input', { id: 'secret-input', type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'the HMAC key' })),
    el('div', { class: 'field' },
      el('label', { for: 'secret-encoding' }, 'Written as'),
      el('select', { id: 'secret-encoding' },
        el('option', { value: 'text' }, 'text (UTF-8)'),
        el('option', { value: 'base64url' }, 'base64url bytes'))),
    el('div', { class: 'field' },
      el('label', { for: 'secret-algorithm' }, 'Algorithm'),
      el('select', { id: 'secret-algorithm' }, [...HMAC_HASH.keys()].map((alg) =>
        el('option', { value: alg, selected: alg === (HMAC_HASH.has(header.alg) ? header.alg : 'HS256') }, alg)))),
    el('div', { class: 'field' }, el('button', { type: 'submit' }, 'Check with this secret')));
  const secretControls = el('div', { class: 'controls' }, secretForm,
    el('div', { class: 'row' },
      el('button', { type: 'button', id: 'jwks-button' }, 'Check with the server\'s JWKS'),
      el('span', { class: 'help' }, 'For RS256, ES256 and EdDSA: fetches the public keys from ',
        el('code', {}, '/.well-known/jwks.json'), ' and checks here. Nothing about the token is sent.')));
  const revokedControls = el('div', { class: 'controls' }, el('div', { class: 'row' },
    el('button', { type: 'button', id: 'revoked-button' }, 'Ask this server'),
    el('span', { class: 'help' }, 'Sends the token to ', el('code', {}, 'POST /api/token/verify/'),
      ' on this server (', location.origin, ') and nowhere else.')));
  const list = el('ul', { id: 'checks', class: 'checks' },
    checkItem('signature', 'Signature', ...initialSignature(state), secretControls),
    checkItem('algorithm', 'Algorithm', ...algorithmCheck(header)),
    checkItem('exp', 'Expiry (exp)', ...timeCheck('exp', payload, now)),
    checkItem('nbf', 'Not before (nbf)', ...timeCheck('nbf', payload, now)),
    checkItem('iat', 'Issued at (iat)', ...timeCheck('iat', payload, now)),
    checkItem('type', 'Type', ...typeCheck(header, payload)),
    checkItem('jti', 'Token id (jti)', ...jtiCheck(payload)),
    checkItem('revoked', 'Revoked?', 'skip', 'Only the server knows: its blacklist is not in the token. Not asked yet.', revokedControls));
  secretForm.addEventListener('submit', (event) => {
    event.preventDefault();
    checkSecret(state);
  });
  list.querySelector('#jwks-button').addEventListener('click', () => checkJwks(state));
  list.querySelector('#revoked-button').addEventListener('click', () => askServer(state));
  return el('section', { id: 'checks-section', class: 'block', 'aria-labelledby': 'checks-heading' },
    el('h2', { id: 'checks-heading' }, 'Checklist'),
    el('p', { class: 'help' }, 'What a careful verifier checks, in this page and against your browser\'s clock. ',
      el('span', { class: 'legend-marks' }, '✓ passed · ✗ failed · – not checked')),
    list);
}

async function automaticChecks(state) {
  const { header, signature } = state.token;
  if (!subtle || signature.length === 0 || header.alg.toLowerCase() === 'none') return;
  if (HMAC_HASH.has(header.alg)) {
    const found = await findCommonSecret(state.token);
    if (found && state.generation === generation) {
      setCheck('signature', 'fail', `The signature verifies with ${found.label}, ${found.why}: anyone `
        + 'could have made this token. It proves nothing.');
      addWarning(warning('weak-secret', 'Signed with a well-known secret:',
        `${found.label}. Anyone can forge tokens this server accepts. Use 32 random bytes or more `
        + '(jwt-workbook key generate).'));
    }
    return;
  }
  await checkJwks(state);
}

async function checkJwks(state) {
  setCheck('signature', 'skip', 'Checking with the server\'s public keys…');
  const verdict = await verifyWithJwks(state.token);
  if (state.generation === generation) setCheck('signature', verdict.status, verdict.text);
}

async function checkSecret(state) {
  const text = $('secret-input').value;
  const encoding = $('secret-encoding').value;
  const algorithm = $('secret-algorithm').value;
  const { header } = state.token;
  if (!subtle) {
    setCheck('signature', 'skip', noWebCrypto());
    return;
  }
  if (text === '') {
    setCheck('signature', 'skip', 'Type the secret first.');
    return;
  }
  let bytes;
  try {
    bytes = secretBytes(text, encoding);
  } catch (error) {
    setCheck('signature', 'skip', `That is not base64url: ${error.message}.`);
    return;
  }
  if (bytes.length === 0) {
    setCheck('signature', 'skip', 'An empty secret is no secret.');
    return;
  }
  if (header.alg !== algorithm) {
    setCheck('signature', 'fail', `You chose ${algorithm}, the header says ${header.alg}. A verifier `
      + 'uses the algorithm it was configured with and refuses a token that names another.');
    return;
  }
  const valid = await verifyHmac(state.token, bytes, algorithm);
  if (state.generation !== generation) return;
  if (!valid) {
    setCheck('signature', 'fail', `Does not verify with this secret (${algorithm}): either it is not the `
      + 'secret that signed the token, or the token was changed after it was signed.');
    return;
  }
  const weakness = secretWeakness(bytes, text, encoding);
  setCheck('signature', 'pass', `Verified with your secret (${algorithm}, compared in constant time by `
    + 'WebCrypto): whoever holds this secret made the token, and it has not changed since.');
  if (weakness) {
    addWarning(warning('weak-secret', 'A weak secret:', `${weakness}.`));
  }
}

async function askServer(state) {
  const button = $('revoked-button');
  button.disabled = true;
  setCheck('revoked', 'skip', 'Asking this server…');
  let verdict;
  try {
    const response = await fetch('/api/token/verify/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ token: state.text }),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
    const body = await response.json().catch(() => ({}));
    const detail = typeof body.detail === 'string' ? body.detail : null;
    const nonField = Array.isArray(body.non_field_errors) ? body.non_field_errors.join(' ') : null;
    if (response.status === 200) {
      verdict = ['pass', 'Not revoked: this server says the token is valid ({} from /api/token/verify/).'];
    } else if (response.status === 400 && nonField && /blacklist/i.test(nonField)) {
      verdict = ['fail', `Revoked: this server answered "${nonField}". Logging out, a password change or a reused refresh token does that.`];
    } else if (response.status === 401) {
      verdict = ['fail', `This server refuses the token altogether: "${detail || 'invalid'}" (401), so it cannot say whether it was revoked.`];
    } else {
      verdict = ['skip', `This server answered ${response.status}${detail || nonField ? `: ${detail || nonField}` : ''}.`];
    }
  } catch {
    verdict = ['skip', 'Could not reach this server.'];
  }
  button.disabled = false;
  if (state.generation === generation) setCheck('revoked', ...verdict);
}

// --- The clock ----------------------------------------------------------------------------------

function tick() {
  const now = nowSeconds();
  for (const node of document.querySelectorAll('[data-at]')) {
    node.textContent = relative(Number(node.getAttribute('data-at')), now);
  }
  if (current && current.token) {
    const { payload } = current.token;
    for (const name of TICKING_CHECKS) setCheck(name, ...timeCheck(name, payload, now));
    const countdown = $('countdown');
    if (countdown) {
      const exp = payload.exp;
      if (!isNumericDate(exp)) {
        countdown.textContent = 'Never expires';
        countdown.setAttribute('data-state', 'expired');
      } else if (exp > now) {
        countdown.textContent = `Expires ${relative(exp, now)}`;
        countdown.setAttribute('data-state', exp - now < 60 ? 'soon' : 'live');
      } else {
        countdown.textContent = `Expired ${relative(exp, now)}`;
        countdown.setAttribute('data-state', 'expired');
      }
    }
  }
  updateLoginButton(now);
}

/** Seconds the server asked us to wait before logging in as this user again. */
function loginWait(username, now) {
  if (!loginBlocked) return 0;
  const left = Math.ceil(loginBlocked.until - now);
  if (left <= 0) {
    loginBlocked = null;
    return 0;
  }
  return loginBlocked.username === username ? left : 0;
}

function updateLoginButton(now = nowSeconds()) {
  const button = $('login-button');
  const wait = loginWait($('login-username').value, now);
  button.disabled = loginInFlight || wait > 0;
  const label = loginInFlight ? 'Logging in…' : wait > 0 ? `Log in (wait ${wait} s)` : 'Log in';
  if (button.textContent !== label) button.textContent = label;
}

// --- Logging in ---------------------------------------------------------------------------------

function loginStatus(kind, ...content) {
  const status = $('login-status');
  status.setAttribute('data-kind', kind);
  status.replaceChildren(...content);
}

async function logIn(event) {
  event.preventDefault();
  const username = $('login-username').value;
  const password = $('login-password').value;
  if (username === '' || password === '') {
    loginStatus('error', 'Type a username and a password (the demo user is demo / demo-password).');
    return;
  }
  const wait = loginWait(username, nowSeconds());
  if (wait > 0) {
    loginStatus('error', `The server asked to wait before the next login as ${username}: ${duration(wait)} more.`);
    return;
  }
  loginInFlight = true;
  updateLoginButton();
  loginStatus('info', 'Logging in…');
  let response;
  try {
    response = await fetch('/api/token/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
      // No cookies: in cookie mode the server would set its refresh cookie, and this page keeps
      // nothing beyond its own memory.
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    response = null;
  }
  loginInFlight = false;
  updateLoginButton();
  if (!response) {
    loginStatus('error', 'Could not reach this server. Is it still running?');
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (response.ok && typeof body.access === 'string') {
    $('login-password').value = '';
    refreshFromLogin = typeof body.refresh === 'string' ? body.refresh : null;
    const content = [`Logged in as ${username}: the access token is in the inspector.`];
    if (refreshFromLogin) {
      const other = el('button', { type: 'button', class: 'link' }, 'Inspect the refresh token instead');
      other.addEventListener('click', () => {
        $('token-input').value = refreshFromLogin;
        inspect(refreshFromLogin, 'login');
      });
      content.push(' ', other);
    } else {
      content.push(' (This server is in cookie mode: it sends the refresh token only as an HttpOnly cookie, which this page does not keep.)');
    }
    loginStatus('ok', ...content);
    $('token-input').value = body.access;
    inspect(body.access, 'login');
    return;
  }
  const detail = typeof body.detail === 'string' ? body.detail : '';
  if (response.status === 401) {
    loginStatus('error', `Wrong username or password: the server answered 401, "${detail}". It does not say which of the two was wrong, so nobody can find out who has an account.`);
  } else if (response.status === 429) {
    const wait = Number.parseInt(response.headers.get('Retry-After') || '', 10);
    const seconds = Number.isFinite(wait) && wait > 0 ? wait : 60;
    loginBlocked = { username, until: nowSeconds() + seconds };
    loginStatus('error', `Too many failed logins: the server answered 429 and asks you to wait ${duration(seconds)} before logging in as ${username} again (Retry-After: ${seconds}). Logins are throttled so that nobody can guess passwords quickly.`);
    updateLoginButton();
  } else if (response.status === 400) {
    const problems = Object.entries(body).map(([field, messages]) =>
      `${field}: ${Array.isArray(messages) ? messages.join(' ') : messages}`);
    loginStatus('error', `The server answered 400: ${problems.join('; ') || 'a bad request'}.`);
  } else {
    loginStatus('error', `The server answered ${response.status}${detail ? `: ${detail}` : ''}.`);
  }
}

// --- Start --------------------------------------------------------------------------------------

/** `#token=…` (or a bare `#eyJ…`), or null. */
function tokenFromFragment() {
  const fragment = location.hash.slice(1);
  if (fragment === '') return null;
  for (const pair of fragment.split('&')) {
    if (pair.startsWith('token=')) {
      try {
        return decodeURIComponent(pair.slice(6));
      } catch {
        return pair.slice(6);
      }
    }
  }
  return fragment.startsWith('eyJ') ? fragment : null;
}

/** Reads a token from the fragment, then takes the fragment out of the address bar. */
async function fromFragment() {
  const token = tokenFromFragment();
  if (token === null) return false;
  history.replaceState(null, '', location.pathname + location.search);
  $('token-input').value = token;
  await inspect(token, 'fragment');
  return true;
}

async function start() {
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    inspect($('token-input').value, 'typed');
  });
  $('clear-button').addEventListener('click', () => {
    $('token-input').value = '';
    generation += 1;
    current = null;
    $('results').replaceChildren(el('p', { class: 'empty' }, 'Nothing to inspect yet: paste a token above, or log in.'));
    $('token-input').focus();
  });
  $('login-form').addEventListener('submit', logIn);
  $('login-username').addEventListener('input', () => updateLoginButton());
  window.addEventListener('hashchange', () => { fromFragment(); });
  setInterval(tick, 1000);
  await fromFragment();
  document.body.setAttribute('data-ready', 'true');
}

start();
