import cliProgress from 'cli-progress';
import type { SyncEvent } from 'typeorm-sharepoint';

/**
 * Items per second since `started`, or '–' during the first second: a rate over a few milliseconds
 * (one page arriving at once) is noise, not a speed (it printed 3000000/s).
 */
export function rateSince(done: number, started: number, now = Date.now()): string {
  const seconds = (now - started) / 1000;
  return seconds < 1 ? '–' : String(Math.round(done / seconds));
}

/** Where the CLI writes: human text, or one JSON document per command with `--json`. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Prints the command's result: `text()` for people, `data` for `--json`. */
  result(data: unknown, text: () => string): void {
    this.stdout.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
  }

  /** A line of progress or commentary (stderr, so `--json` output stays parseable). */
  note(line: string): void {
    if (!this.json) this.stderr.write(`${line}\n`);
  }

  error(message: string): void {
    if (this.json) this.stdout.write(`${JSON.stringify({ error: message })}\n`);
    else this.stderr.write(`error: ${message}\n`);
  }

  /**
   * Progress of one long operation (migrate): a bar with items, rate and ETA on a terminal; a plain line
   * every few seconds otherwise; nothing with `--json`.
   */
  counter(label: string): { update(done: number, total: number): void; stop(): void } {
    if (this.json) return { update() {}, stop() {} };
    const started = Date.now();
    if (this.stderr.isTTY) {
      const bar = new cliProgress.SingleBar(
        {
          stream: this.stderr,
          format: ` ${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}`,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      let begun = false;
      return {
        update(done, total) {
          const rate = rateSince(done, started);
          if (!begun) {
            bar.start(total, done, { rate });
            begun = true;
          } else {
            bar.setTotal(total);
            bar.update(done, { rate });
          }
        },
        stop: () => bar.stop(),
      };
    }
    let last = 0;
    return {
      update: (done, total) => {
        const now = Date.now();
        if (done < total && now - last < 2000) return;
        last = now;
        const seconds = (now - started) / 1000;
        const rate = done / Math.max(seconds, 0.001);
        const eta = seconds >= 1 && rate > 0 ? ` ETA ${Math.round((total - done) / rate)} s` : '';
        this.note(`${label}: ${done}/${total} items, ${rateSince(done, started, now)}/s${eta}`);
      },
      stop() {},
    };
  }

  /**
   * Load progress: a bar with items, rate and ETA on a terminal; a plain line every few seconds
   * otherwise (logs, CI); nothing with `--json`.
   */
  progress(): { onEvent(event: SyncEvent): void; stop(): void } {
    if (this.json) return { onEvent() {}, stop() {} };
    if (this.stderr.isTTY) {
      const bars = new cliProgress.MultiBar(
        {
          stream: this.stderr,
          format:
            ' {entity} [{bar}] {value}/{total} items | {rate}/s | ETA {eta_formatted} | skipped {skipped}',
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      const byEntity = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
      return {
        onEvent(event) {
          if (event.type !== 'load.progress') return;
          let entry = byEntity.get(event.entity);
          if (!entry) {
            entry = {
              bar: bars.create(event.total ?? event.loaded, 0, { entity: event.entity, rate: 0, skipped: 0 }),
              started: Date.now(),
            };
            byEntity.set(event.entity, entry);
          }
          entry.bar.setTotal(Math.max(event.total ?? event.loaded, event.loaded));
          entry.bar.update(event.loaded, {
            rate: rateSince(event.loaded, entry.started),
            skipped: event.skipped,
          });
        },
        stop: () => bars.stop(),
      };
    }
    const lastPrinted = new Map<string, number>();
    const started = new Map<string, number>();
    return {
      onEvent: (event) => {
        if (event.type !== 'load.progress') return;
        const now = Date.now();
        if (!started.has(event.entity)) started.set(event.entity, now);
        if (!event.done && now - (lastPrinted.get(event.entity) ?? 0) < 2000) return;
        lastPrinted.set(event.entity, now);
        const total = event.total === undefined ? '' : `/${event.total}`;
        this.note(
          `${event.entity}: ${event.loaded}${total} items, ${rateSince(event.loaded, started.get(event.entity)!, now)}/s, ${event.skipped} skipped${event.done ? ' (done)' : ''}`,
        );
      },
      stop() {},
    };
  }
}
