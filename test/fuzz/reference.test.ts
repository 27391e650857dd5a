/** Fuzzing of image references (issue 17): only WharfErrors; parse ∘ format is the identity on what parses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatReference, parseDockerRef, parseNormalizedNamed, parseReference } from '../../src/reference/index.js';
import { WharfError } from '../../src/errors/index.js';
import { budget, onlyWharfErrors, textFrom } from './budget.js';

const ALPHABET = 'abcz019._-/:@AZ[]sha256';
/** Mostly well-formed references with a random part, so that the round trip is exercised as well as the refusals. */
const reference = fc.oneof(
  textFrom(ALPHABET, 300),
  fc
    .tuple(
      fc.constantFrom('', 'docker.io/', 'localhost:5000/', '127.0.0.1:1/', 'Example.COM/', '[::1]:5000/', 'a-b.c/'),
      fc.array(fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/), { minLength: 1, maxLength: 4 }),
      fc.option(fc.stringMatching(/^[\w][\w.-]{0,20}$/), { nil: undefined }),
      fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: undefined }),
    )
    .map(([d, p, t, h]) => `${d}${p.join('/')}${t ? `:${t}` : ''}${h ? `@sha256:${h}` : ''}`),
);

test('reference parsers throw only WharfErrors, and formatting what they parse parses back to it', () => {
  fc.assert(
    fc.property(reference, (s) => {
      for (const parse of [parseReference, parseNormalizedNamed, parseDockerRef]) {
        const r = onlyWharfErrors(() => parse(s));
        if (r instanceof WharfError) continue;
        assert.deepEqual(parseReference(formatReference(r)), r, `${parse.name}(${JSON.stringify(s)})`);
        // (No such law for familiarString: Docker prints docker.io/a.b/c as a.b/c, which names the domain a.b.)
      }
    }),
    budget(3000),
  );
});
