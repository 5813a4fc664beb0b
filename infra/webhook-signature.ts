/**
 * Standard Webhooks signing and verification (https://www.standardwebhooks.com), used for the
 * webhooks we send and those partners send us. A message carries three headers: `webhook-id`
 * (unique per event, the same on every retry), `webhook-timestamp` (unix seconds of the attempt)
 * and `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` over
 * `${id}.${timestamp}.${body}`. Secrets are written `whsec_<base64 key>`; the key is the decoded
 * part. Several secrets and signatures are allowed so a secret can be rotated without downtime.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A header bag as a plain object (any case, e.g. Node's `req.headers`) or a fetch `Headers`. */
export type HeaderSource =
  Record<string, string | string[] | undefined> | { get(name: string): string | null };

export type VerifyResult =
  { ok: true; id: string; timestamp: Date } | { ok: false; reason: string };

const secretPrefix = 'whsec_';
const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** A new secret: `whsec_` and 32 random bytes in base64. */
export function generateSecret(): string {
  return `${secretPrefix}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key inside a secret; throws on a secret that is not `whsec_<base64>`. */
function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret;
  if (!base64Pattern.test(encoded)) {
    throw new Error('A webhook secret is written whsec_<base64 key>.');
  }
  return Buffer.from(encoded, 'base64');
}

function sign(key: Buffer, id: string, timestamp: number, body: string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** The three headers for one delivery attempt of `body`, signed with `secret`. */
export function signatureHeaders(
  secret: string,
  id: string,
  body: string,
  now: Date = new Date(),
): Record<string, string> {
  const timestamp = unixSeconds(now);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${sign(secretKey(secret), id, timestamp, body)}`,
  };
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : bag[key];
  return Array.isArray(value) ? value[0] : value;
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks a received message: accepted if any `v1` signature matches `body` under any of
 * `secrets` and the timestamp is within `toleranceSeconds` of `now` (either side). The body must
 * be the raw text received, before any JSON parsing.
 */
export function verifySignature(
  secrets: string[],
  headers: HeaderSource,
  body: string,
  now: Date = new Date(),
  toleranceSeconds = 300,
): VerifyResult {
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id) return { ok: false, reason: 'missing header webhook-id' };
  if (!timestampText) return { ok: false, reason: 'missing header webhook-timestamp' };
  if (!signatures) return { ok: false, reason: 'missing header webhook-signature' };
  if (!/^\d{1,12}$/.test(timestampText)) {
    return { ok: false, reason: 'header webhook-timestamp is not unix seconds' };
  }
  const timestamp = Number(timestampText);
  const skew = unixSeconds(now) - timestamp;
  if (skew > toleranceSeconds) return { ok: false, reason: 'webhook-timestamp is too old' };
  if (-skew > toleranceSeconds) return { ok: false, reason: 'webhook-timestamp is in the future' };

  const given = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice('v1,'.length));
  if (given.length === 0) return { ok: false, reason: 'no v1 signature in webhook-signature' };
  for (const secret of secrets) {
    const expected = sign(secretKey(secret), id, timestamp, body);
    // Check every candidate (no early exit on the first mismatch) to keep the time flat.
    if (given.map((candidate) => sameString(candidate, expected)).includes(true)) {
      return { ok: true, id: id, timestamp: new Date(timestamp * 1000) };
    }
  }
  return { ok: false, reason: 'no signature matches' };
}
