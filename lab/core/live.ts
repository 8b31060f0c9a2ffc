/**
 * The live view of a run on a terminal: one line per stage with a spinner
 * (the scenario's steps under it), a bar with rate and ETA for measurable
 * steps (the kernel build against its estimated file count, downloads in
 * bytes). Finished stages, warnings and --verbose output are printed once
 * above the live lines, which are redrawn in place. listr2 supplies the
 * spinner, colours and symbols; its task runner wants the task list up front,
 * while the lab's stages arrive as events, so the frame is drawn here.
 * Pipelines running at once (lab run --jobs) each report through a scope:
 * their lines carry the kernel, and a stage ends only its own pipeline's.
 */
import { color, figures, Spinner } from 'listr2';
import { consoleReporter, eventLine, formatDuration, lineLog, type ProgressEvent, type ProgressOptions, type ProgressPosition, type ProgressReporter } from './reporter.ts';

/** What the live view writes to: a terminal (stderr), or a fake one in tests. */
export interface TermStream {
  write(chunk: string): boolean;
  columns?: number;
  isTTY?: boolean;
}

interface StageLine {
  /** The pipeline it belongs to (the kernel, with lab run --jobs), when several run at once. */
  group?: string;
  name: string;
  message: string;
  started: number;
  steps: string[];
  progress?: ProgressPosition & { firstAt: number; firstDone: number };
  /** Set by an outcome or an error: the icon it is printed with when it ends. */
  ending?: Ending;
}

const BAR = 24;

function formatAmount(n: number, unit: ProgressPosition['unit']): string {
  return unit === 'bytes' ? `${(n / 2 ** 20).toFixed(1)}` : String(n);
}

/** The bar line of a measurable step: position, percent, rate and ETA (linear in the rate so far). */
export function progressLine(p: ProgressPosition & { firstAt: number; firstDone: number }, now: number): string {
  const unit = p.unit === 'bytes' ? 'MiB' : 'files';
  const elapsed = (now - p.firstAt) / 1000;
  const rate = elapsed > 0 ? (p.done - p.firstDone) / elapsed : 0;
  const rateText = rate > 0 ? (p.unit === 'bytes' ? `${(rate / 2 ** 20).toFixed(1)} MiB/s` : `${rate.toFixed(1)} files/s`) : '';
  if (!p.total) return `${formatAmount(p.done, p.unit)} ${unit}${rateText ? `, ${rateText}` : ''}`;
  const ratio = Math.min(1, p.done / p.total);
  const filled = Math.round(ratio * BAR);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}`;
  const left = p.total - p.done;
  const eta = rate > 0 && left > 0 ? `ETA ${formatDuration((left / rate) * 1000)}` : left <= 0 ? 'finishing' : 'ETA ?';
  const of = `${formatAmount(p.done, p.unit)}/${formatAmount(p.total, p.unit)} ${unit}`;
  // the basis last: a narrow terminal cuts it first
  return [bar, of, `${Math.floor(ratio * 100)}%`, rateText, eta, p.basis ? `(total ${p.basis})` : ''].filter(Boolean).join('  ');
}

/** How a stage's line ends: its icon once it is printed for good. */
type Ending = 'passed' | 'failed' | 'skipped';

/**
 * A typed event on its stage's line: a step goes under it, an outcome or an
 * error becomes its message and says how it ends.
 */
function applyEvent(s: StageLine, e: ProgressEvent): void {
  if (e.kind === 'step') return void s.steps.push(e.step);
  s.message = eventLine(e);
  s.ending = e.kind === 'error' || e.status === 'FAIL' || e.status === 'ERROR' ? 'failed' : e.status === 'SKIP' ? 'skipped' : 'passed';
}

const ICON: Record<Ending, () => string> = {
  passed: () => color.green(figures.tick),
  failed: () => color.red(figures.cross),
  skipped: () => color.yellow(figures.arrowDown),
};

const title = (s: { group?: string; name: string }) => (s.group === undefined ? s.name : `${s.group}: ${s.name}`);

/**
 * The live lines of the running stages, redrawn in place under the lines
 * printed for good (finished stages, warnings, --verbose output).
 */
function liveScreen(out: TermStream, now: () => number) {
  const spinner = new Spinner();
  const active: StageLine[] = [];
  let drawn = 0;
  const width = () => Math.max(20, (out.columns ?? 80) - 1);
  // one terminal line per live line, else the redraw miscounts
  const fit = (s: string) => {
    const plainText = s.replace(/\x1b\[[0-9;]*m/g, '');
    return plainText.length > width() ? `${plainText.slice(0, width() - 1)}…` : s;
  };
  const elapsed = (s: StageLine) => color.dim(`(${formatDuration(now() - s.started)})`);
  const frame = (): string[] =>
    active.flatMap((s) => {
      const lines = [`${color.cyan(spinner.fetch())} ${color.bold(title(s))}  ${s.message} ${elapsed(s)}`];
      for (const [i, step] of s.steps.entries()) lines.push(`    ${i === s.steps.length - 1 ? color.cyan(spinner.fetch()) : color.green(figures.tick)} ${step}`);
      if (s.progress) lines.push(`    ${progressLine(s.progress, now())}`);
      return lines;
    });
  /** Clear the live lines, print `above` for good, draw the live lines again. */
  const draw = (above: string[] = []) => {
    let chunk = drawn ? `\x1b[${drawn}A\r\x1b[J` : '';
    for (const line of above) chunk += `${line}\n`;
    const live = frame().map(fit);
    for (const line of live) chunk += `${line}\n`;
    drawn = live.length;
    if (chunk) out.write(chunk);
  };
  const finished = (s: StageLine) => `${ICON[s.ending ?? 'passed']()} ${color.bold(title(s))}  ${s.message} ${elapsed(s)}`;
  return {
    active,
    frame,
    draw,
    spin: () => spinner.spin(),
    find: (group: string | undefined, name: string) => active.find((x) => x.group === group && x.name === name),
    /** A report of a stage: it ends the others of its pipeline (a pipeline is sequential), and itself when it failed. */
    update(group: string | undefined, name: string, message: string, apply: (s: StageLine) => void) {
      const done = active.filter((s) => s.group === group && s.name !== name);
      let s = active.find((x) => x.group === group && x.name === name);
      if (!s) active.push((s = { group, name, message, started: now(), steps: [] }));
      apply(s);
      if (s.ending === 'failed') done.push(s);
      for (const d of done) active.splice(active.indexOf(d), 1);
      draw(done.map(finished));
    },
    /** Print every running stage as finished. */
    end: () => draw(active.splice(0).map(finished)),
  };
}

interface LiveReporter extends ProgressReporter {
  /** The live lines as they would be drawn now (for tests). */
  frame(): string[];
}

export function liveReporter(opts: ProgressOptions, out: TermStream, now: () => number = Date.now): LiveReporter {
  const log = lineLog(now());
  const screen = liveScreen(out, now);
  let closed = false;
  const timer = setInterval(() => {
    screen.spin();
    screen.draw();
  }, 100);
  timer.unref();
  const showCursor = () => out.write('\x1b[?25h');
  out.write('\x1b[?25l');
  process.once('exit', showCursor);

  const scoped = (group: string | undefined): ProgressReporter => {
    const own = group === undefined ? log : lineLog(now());
    // the scope's own lab.log gets the plain line, the run's log the labelled one
    const line = (name: string, message: string) => {
      const plainLine = own.line(name, message);
      return group === undefined ? plainLine : log.line(title({ group, name }), message);
    };
    /** Logged, and applied to the stage's live line (printed plain once closed). */
    const report = (name: string, message: string, apply: (s: StageLine) => void) => {
      const printed = line(name, message);
      if (closed) out.write(`${printed}\n`);
      else screen.update(group, name, message, apply);
    };
    return {
      // once a scenario's steps run, what it does next (reading the dump) is a line of its own too
      stage: (name, message) => report(name, message, (s) => (s.steps.length ? s.steps.push(message) : (s.message = message))),
      event: (name, e) => report(name, eventLine(e), (s) => applyEvent(s, e)),
      warn(name, message) {
        const printed = line(name, `warning: ${message}`);
        if (closed) return void out.write(`${printed}\n`);
        screen.draw([`${color.yellow(figures.warning)} ${color.bold(title({ group, name }))}  ${message}`]);
      },
      progress(name, p) {
        const s = closed ? undefined : screen.find(group, name);
        if (s) s.progress = { ...p, firstAt: s.progress?.firstAt ?? now(), firstDone: s.progress?.firstDone ?? p.done };
      },
      detail(name, text) {
        if (!opts.verbose) return;
        if (closed) return void out.write(`${title({ group, name })}| ${text}\n`);
        screen.draw([color.dim(`${title({ group, name })}| ${text}`)]);
      },
      attachLog: (path) => own.attach(path),
      close: () => {},
      scope: (label) => scoped(group === undefined ? label : `${group}: ${label}`),
    };
  };

  return {
    ...scoped(undefined),
    // the terminal now belongs to something else (the verdict table, a guest command, a shell): later events as plain lines
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      screen.end();
      showCursor();
      process.off('exit', showCursor);
    },
    frame: screen.frame,
  };
}

/** The live view when stdout and stderr are both a terminal (and TERM is not dumb), else plain lines. */
export function progressReporter(opts: ProgressOptions, streams: { stdout: TermStream; stderr: TermStream }, env: { TERM?: string }): ProgressReporter {
  if (!opts.quiet && streams.stdout.isTTY && streams.stderr.isTTY && env.TERM !== 'dumb') return liveReporter(opts, streams.stderr);
  return consoleReporter(opts, streams.stderr as NodeJS.WritableStream);
}
