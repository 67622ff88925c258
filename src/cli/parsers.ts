import { InvalidArgumentError } from 'commander';

/** commander parser for `--port`: an integer 0–65535, else a usage error (exit 2). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return port;
}

/** commander parser for a duration in seconds: a positive number, else a usage error (exit 2). */
export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError('expected a positive number of seconds.');
  return seconds;
}

/** commander parser for `--seed`: an integer, else a usage error (exit 2). */
export function parseSeed(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected an integer.');
  return Number(value);
}
