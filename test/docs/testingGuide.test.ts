import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').replace(/\r\n/g, '\n');

const HEADING = "## Testing your app's session paths with `sessionchart/testing`";
const EXAMPLE = 'test/testing/sessionPaths.example.test.ts';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) =>
  heading.replace(/^#+ /, '').toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');

/** The first TypeScript block after `heading`, without its fences. */
function firstTsBlockAfter(page: string, heading: string): string | undefined {
  const section = page.split(`\n${heading}\n`)[1];
  return section === undefined ? undefined : /```ts\n([\s\S]*?)```/.exec(section)?.[1];
}

describe('docs/testing.md', () => {
  it(`shows, in its section for users, the example test that runs (${EXAMPLE}), whole and as it is`, () => {
    expect(firstTsBlockAfter(read('docs/testing.md'), HEADING), `copy ${EXAMPLE} into the section's code block`).toBe(read(EXAMPLE));
  });

  it("is where the README's entry for sessionchart/testing links", () => {
    expect(anchorOf(HEADING)).toBe('testing-your-apps-session-paths-with-sessioncharttesting');
    expect(read('README.md')).toContain(`](docs/testing.md#${anchorOf(HEADING)})`);
  });
});
