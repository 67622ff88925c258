import { messagePage } from './html.js';

// Requests and replies as the console's routes see them, whatever server carries them (transports.ts).

export interface Incoming {
  method: string;
  /** Path and query as the server hands them over (a mounting framework may have cut its mount path off). */
  url: string;
  /** The whole path and query when a framework cut its mount path off `url` (Express's `req.originalUrl`). */
  originalUrl?: string | undefined;
  headers: Record<string, string | undefined>;
  secure: boolean;
  /** The body, or undefined when it is larger than the limit. */
  readBody(): Promise<string | undefined>;
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The largest form body the console reads. */
export const MAX_FORM_BYTES = 64 * 1024;

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export const html = (status: number, body: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'Content-Type': 'text/html; charset=utf-8', ...headers },
  body,
});

export const json = (status: number, value: unknown): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8' },
  body: JSON.stringify(value),
});

/** A page with a title and one sentence (errors, refusals). */
export const message = (status: number, title: string, text: string): Reply =>
  html(status, messagePage(title, text));

export const redirect = (location: string, headers: Record<string, string> = {}): Reply => ({
  status: 303,
  headers: { Location: location, ...headers },
  body: '',
});
