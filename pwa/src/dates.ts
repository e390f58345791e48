// One date/time format per context, so that the same moment reads the same
// wherever it is shown in that kind of screen (the app used to mix
// "7 dec 2026, 14:05", "ma 7 dec 2026 14:05" and "7-12-2026 14:05"):
//
//   list     7 dec 2026 14:05             tables and cards (compact, sortable by eye)
//   detail   ma 7 dec 2026 om 14:05       one item, one account (the weekday helps)
//   history  7 dec 2026 14:05:33          the changes of an item (seconds order close edits)
//   report   maandag 7 december 2026, 14:05   the printed walk report (words, for a meeting)
//
// A date without a time (a spreekuur's day, feedback given on) is `day`:
// "7 dec 2026" in lists and details, "maandag 7 december 2026" in reports.
// A time of day beside a day already shown (a walk started, an observation
// saved, changes waiting since) is `formatTime`: "14:05".
// Every screen formats dates here; the app has no other date helper.
// Times are the device's local time (the municipality's), 24-hour.
import { lang } from './i18n';

export type DateContext = 'list' | 'detail' | 'history' | 'report';

function locale(): string {
  return lang() === 'nl' ? 'nl-NL' : 'en-GB';
}

function parts(ms: number, opts: Intl.DateTimeFormatOptions, timeZone?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of new Intl.DateTimeFormat(locale(), { ...opts, hourCycle: 'h23', timeZone }).formatToParts(new Date(ms))) out[p.type] = p.value;
  return out;
}

/** The day of `ms` in the context's form (no time). `timeZone` only for tests. */
export function formatDay(ms: number | null | undefined, ctx: DateContext, timeZone?: string): string {
  if (ms === null || ms === undefined) return '–';
  if (ctx === 'report') {
    const p = parts(ms, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }, timeZone);
    return `${p.weekday} ${p.day} ${p.month} ${p.year}`;
  }
  const p = parts(ms, { day: 'numeric', month: 'short', year: 'numeric' }, timeZone);
  return `${p.day} ${p.month.replace(/\.$/, '')} ${p.year}`;
}

/** The time of day of `ms`, "14:05" (24-hour, local). `timeZone` only for tests. */
export function formatTime(ms: number | null | undefined, timeZone?: string): string {
  if (ms === null || ms === undefined) return '–';
  const p = parts(ms, { hour: '2-digit', minute: '2-digit' }, timeZone);
  return `${p.hour}:${p.minute}`;
}

/** The moment `ms` (day and time) in the context's form. `timeZone` only for tests. */
export function formatWhen(ms: number | null | undefined, ctx: DateContext, timeZone?: string): string {
  if (ms === null || ms === undefined) return '–';
  const withSeconds = ctx === 'history';
  const p = parts(
    ms,
    {
      weekday: ctx === 'report' ? 'long' : 'short',
      day: 'numeric',
      month: ctx === 'report' ? 'long' : 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      ...(withSeconds ? { second: '2-digit' as const } : {}),
    },
    timeZone,
  );
  const month = p.month.replace(/\.$/, '');
  const weekday = p.weekday.replace(/\.$/, '');
  const time = withSeconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  const at = lang() === 'nl' ? 'om' : 'at';
  switch (ctx) {
    case 'list':
    case 'history':
      return `${p.day} ${month} ${p.year} ${time}`;
    case 'detail':
      return `${weekday} ${p.day} ${month} ${p.year} ${at} ${time}`;
    case 'report':
      return `${weekday} ${p.day} ${month} ${p.year}, ${time}`;
  }
}
