// A node:test reporter (--test-reporter) that writes one JSON line per skipped test to its destination:
// { file, test, skip } where skip is the reason string or true. scripts/run-tests.mjs reads the file when the run
// ends and applies scripts/skip-policy.mjs. Node's own reporter still prints the run as usual beside it.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    yield `${JSON.stringify({ file: file ?? '', test: name, skip })}\n`;
  }
}
