import type { Node } from './ast.js';

const q = (s: string): string => JSON.stringify(s);

function dumpInline(node: Node): string {
  let out = node.keyword;
  if (node.flags.length > 0) out += ` flags[${node.flags.map(q).join(' ')}]`;
  if (node.json) out += ' json';
  if (node.legacyKeyValue) out += ' legacy';
  if (node.trigger) out += ` (${dumpInline(node.trigger)})`;
  for (const a of node.args) out += ' ' + q(a);
  return out;
}

/**
 * A readable one-line-per-instruction dump (heredoc bodies on indented lines below), in the
 * spirit of BuildKit's s-expression dumps. Used by the golden tests and handy when debugging.
 *
 *   3-4 run flags["--mount=type=cache,target=/c"] "apk add curl"
 *       <<EOF fd=0 expand "echo hi\n"
 */
export function dumpNodes(nodes: readonly Node[]): string {
  const lines: string[] = [];
  for (const n of nodes) {
    const r = n.range.start === n.range.end ? `${n.range.start}` : `${n.range.start}-${n.range.end}`;
    lines.push(`${r} ${dumpInline(n)}`);
    for (const h of n.heredocs) {
      const attrs = [`fd=${h.fileDescriptor}`, h.expand ? 'expand' : 'noexpand'];
      if (h.chomp) attrs.push('chomp');
      lines.push(`    <<${h.name} ${attrs.join(' ')} ${q(h.content)}`);
    }
  }
  return lines.join('\n') + '\n';
}
