import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README.md', () => {
  it('opens with its title, then the two set-up commands', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\r\n/g, '\n');
    expect(readme.split('\n').slice(0, 6)).toEqual([
      '# sessionchart',
      '',
      '```sh',
      'npm ci && npm run demo',
      'npm ci && npm test',
      '```',
    ]);
  });
});
