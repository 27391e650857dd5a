/** Docker's "2 weeks ago" style, as in go-units HumanDuration. */
export function humanDuration(secondsFloat: number): string {
  const seconds = Math.floor(secondsFloat);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${Math.floor(seconds)} seconds`;
  const minutes = Math.floor(secondsFloat / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(secondsFloat / 3600 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(Math.floor(secondsFloat / 3600) / 24 / 365)} years`;
}

export function timeAgo(date: Date | string, now: Date = new Date()): string {
  const d = typeof date === 'string' ? new Date(date) : date;
  if (Number.isNaN(d.getTime()) || d.getTime() <= 0) return 'N/A';
  return `${humanDuration((now.getTime() - d.getTime()) / 1000)} ago`;
}

/**
 * Docker's size format: go-units HumanSizeWithPrecision, decimal units. The CLI's tables use 3 significant digits
 * ("4.26MB"); the build context line uses 4 ("3.072kB").
 */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(precision))}${units[i]}`;
}
