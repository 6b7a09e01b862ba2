/**
 * Who may read the dashboard. Bound to a loopback address, anyone on the machine (and the Host header
 * must name a loopback host, which stops DNS-rebinding pages); bound elsewhere, only requests that carry
 * the access token: `?token=…` (which also sets a cookie for the page's later requests), the cookie, or
 * `Authorization: Bearer …`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Cookie that carries the token after the first `?token=` visit. */
export const TOKEN_COOKIE = 'reg-serve-token';

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** A fresh random access token (128 bits, hex). */
export const newAccessToken = (): string => randomBytes(16).toString('hex');

/** The hostname of a Host header (`127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `[::1]`). */
const hostnameOf = (header: string): string => header.replace(/:\d+$/, '');

function sameToken(given: string | undefined | null, token: string): boolean {
  if (given == null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request carries (query, cookie or bearer header), or null. */
function tokenOf(req: IncomingMessage, url: URL): string | null {
  const q = url.searchParams.get('token');
  if (q !== null) return q;
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return null;
}

/**
 * Why the request may not be answered, or null when it may: with a token, it must carry it; without one
 * (loopback), its Host header must name a loopback host.
 */
export function refusal(req: IncomingMessage, url: URL, token: string | null): string | null {
  if (token !== null) return sameToken(tokenOf(req, url), token) ? null : 'this dashboard needs its access token (?token=…)';
  const host = hostnameOf(req.headers.host ?? '');
  return isLoopbackHost(host) ? null : `Host '${host}' is not a loopback name (the dashboard answers only on this machine)`;
}
