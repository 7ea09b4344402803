// Times as the pages write them, in the browser's time zone. Pure (the zone is the runtime's).

const pad = (n: number): string => String(n).padStart(2, '0');

/** `14:05`: a heatmap column, 24-hour whatever the locale, so columns stay narrow and sort as read. */
export function formatHourMinute(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** `14:05:30`: a heatmap column when windows end within a minute of each other. */
export function formatHourMinuteSecond(ms: number): string {
  return `${formatHourMinute(ms)}:${pad(new Date(ms).getSeconds())}`;
}

/** `31/12 14:05` (day and month in the locale's order): a heatmap column when the columns span days. */
export function formatDayHourMinute(ms: number, locale?: string): string {
  const day = new Date(ms).toLocaleDateString(locale, { day: '2-digit', month: '2-digit' });
  return `${day} ${formatHourMinute(ms)}`;
}

/** The local calendar day of a time, to tell whether times span more than one. */
export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** A time of day with seconds in the locale's way (`14:05:09`, `2:05:09 PM`), and the date when not today. */
export function formatClock(ms: number, nowMs: number, locale?: string): string {
  const time = new Date(ms).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return localDay(ms) === localDay(nowMs) ? time : `${new Date(ms).toLocaleDateString(locale, { day: 'numeric', month: 'short' })} ${time}`;
}
