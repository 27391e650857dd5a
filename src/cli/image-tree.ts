/**
 * `images --tree` (docker CLI 28's experimental tree view, cli/command/image/tree.go): each image with its names,
 * then one row per platform of it. Wharf stores one platform per image (as Docker's classic store), so every image
 * has one child row, its config's platform; its layers are kept unpacked (no separate compressed content), so the
 * content size is the image's size. Pure: rows in, text out.
 */
import { humanSize } from '../util/index.js';

export interface TreeImage {
  id: string;
  /** `repo:tag` references, none for an untagged image. */
  names: string[];
  /** Unix seconds; newest first. */
  created: number;
  size: number;
  inUse: boolean;
  platform: string;
  /** The child row's ID: the image's manifest digest when known (pulled), else the image ID. */
  childId: string;
}

const SPACING = 3;

interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
  value?: (d: Details) => string;
}

interface Details {
  id: string;
  size: string;
  inUse: boolean;
}

/** Docker's TruncateID: the hex after `sha256:`, 12 characters. */
const truncateId = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/** tui.Ellipsis / truncateRunes: longer text ends in `...` within the width. */
function fit(s: string, width: number, align: 'left' | 'right'): string {
  const chars = [...s];
  if (chars.length > width) return `${chars.slice(0, Math.max(0, width - 3)).join('')}...`;
  const pad = ' '.repeat(width - chars.length);
  return align === 'left' ? s + pad : pad + s;
}

const EXPERIMENTAL = "WARNING: This is an experimental feature. The output may change and shouldn't be depended on.";

/** The tree as docker 28 prints it on a terminal `width` columns wide (80 when not a terminal). */
export function renderImageTree(images: readonly TreeImage[], width = 80): string {
  const w = Math.max(width, 20);
  const columns: Column[] = [
    { title: 'Image', width: 0, align: 'left' },
    { title: 'ID', width: 12, align: 'left', value: (d) => truncateId(d.id) },
    { title: 'Disk usage', width: 10, align: 'right', value: (d) => d.size },
    { title: 'Content size', width: 12, align: 'right', value: (d) => d.size },
    // The one chip Docker has, `U` (in use), or its placeholder.
    { title: 'Extra', width: 5, align: 'left', value: (d) => (d.inUse ? 'U' : ' ') },
  ];
  let nameWidth = w;
  let shown = columns;
  for (const [i, c] of columns.entries()) {
    if (c.width === 0) continue;
    const d = c.width + (i > 0 ? SPACING : 0);
    // A first column narrower than 12 drops the columns from here on.
    if (nameWidth - d < 12) {
      shown = columns.slice(0, i);
      break;
    }
    nameWidth -= d;
  }
  const sorted = [...images].sort((a, b) => b.created - a.created);
  let widest = 'Image'.length;
  for (const img of sorted) {
    for (const n of img.names) widest = Math.max(widest, n.length);
    widest = Math.max(widest, img.platform.length + '└─ '.length, img.names.length ? 0 : '<untagged>'.length);
  }
  const first = { ...shown[0]!, width: Math.min(nameWidth, widest) };
  shown = [first, ...shown.slice(1)];

  const details = (d: Details): string =>
    shown
      .filter((c) => c.value)
      .map((c) => ' '.repeat(SPACING) + fit(c.value!(d), c.width, c.align))
      .join('');
  const lines: string[] = [EXPERIMENTAL];
  lines.push(shown.map((c) => fit(c.title.toUpperCase(), c.width, c.align)).join(' '.repeat(SPACING)));
  for (const img of sorted) {
    const names = img.names.length ? [...img.names].sort() : ['<untagged>'];
    const size = humanSize(img.size);
    // Every name but the last on a line of its own; the last one carries the image's columns.
    for (const n of names.slice(0, -1)) lines.push(n);
    lines.push(fit(names.at(-1)!, first.width, 'left') + details({ id: img.id, size, inUse: img.inUse }));
    lines.push(fit(`└─ ${img.platform}`, first.width, 'left') + details({ id: img.childId, size, inUse: img.inUse }));
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
