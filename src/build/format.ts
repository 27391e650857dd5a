/** Docker's HumanSizeWithPrecision(size, 4) (go-units): decimal units, four significant digits: `3.072kB`. */
export function humanContextSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}
