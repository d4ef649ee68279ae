/**
 * The code blocks of docs/recipes/*.md type-check against sessionchart's source: the ts/tsx blocks of one recipe
 * form one module, compiled with the project's strict settings, `sessionchart` and its subpaths mapped to src/.
 * Provider SDKs and client libraries this repository does not install are declared as untyped modules, so only the sessionchart side
 * (and jose, oauth4webapi, @supabase/auth-js, convex, react, which are installed) is checked by the compiler.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { entries } from '../tsup.config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECIPES = path.join(ROOT, 'docs', 'recipes');
const PROVIDERS = ['oauth', 'clerk', 'supabase', 'auth0', 'workos', 'better-auth-convex', 'hexclave', 'firebase'];
/** Recipes for the adapters on the API side. */
const ADAPTERS = ['fetch'];
/** Recipes for runtimes that keep the session in a storage of their own. */
const PLATFORMS = ['react-native', 'node-cli'];
const RECIPE_NAMES = [...PROVIDERS, ...ADAPTERS, ...PLATFORMS];
/** Imported by the recipes, not installed here. */
const UNTYPED_MODULES = [
  '@clerk/clerk-js',
  '@auth0/auth0-spa-js',
  '@workos-inc/authkit-js',
  'firebase/app',
  'firebase/auth',
  'better-auth/react',
  '@convex-dev/better-auth/client/plugins',
  '@supabase/supabase-js',
  '@tanstack/react-query',
  'ky',
  'openapi-fetch',
  'react-native',
  '@react-native-async-storage/async-storage',
  '@react-native-community/netinfo',
];
const SHIM = path.join(RECIPES, '__untyped-modules.d.ts');

interface Recipe {
  name: string;
  /** A path that does not exist on disk: the compiler host serves the recipe's code under it. */
  module: string;
  code: string;
}

function recipeOf(name: string): Recipe {
  const markdown = readFileSync(path.join(RECIPES, `${name}.md`), 'utf8');
  const blocks = [...markdown.matchAll(/```(tsx?)\n([\s\S]*?)```/g)];
  const jsx = blocks.some(([, lang]) => lang === 'tsx');
  return {
    name,
    module: path.join(RECIPES, `${name}.recipe.${jsx ? 'tsx' : 'ts'}`),
    code: blocks.map(([, , code]) => code).join('\n'),
  };
}

function compilerOptions(): ts.CompilerOptions {
  const file = path.join(ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, file);
  const paths = Object.fromEntries(
    Object.entries(entries).map(([entry, source]) => [entry === 'index' ? 'sessionchart' : `sessionchart/${entry}`, [source]]),
  );
  return { ...options, noEmit: true, baseUrl: ROOT, paths };
}

/** Type errors per recipe module, as `line: message`. */
function typeErrors(recipes: Recipe[]): Map<string, string[]> {
  const virtual = new Map<string, string>([
    [SHIM, UNTYPED_MODULES.map((name) => `declare module '${name}';`).join('\n')],
    ...recipes.map((recipe): [string, string] => [recipe.module, recipe.code]),
  ]);
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
  host.readFile = (name) => virtual.get(name) ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) => {
    const text = virtual.get(name);
    return text === undefined ? getSourceFile.call(host, name, language, ...rest) : ts.createSourceFile(name, text, language);
  };
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host });
  const errors = new Map<string, string[]>(recipes.map((recipe) => [recipe.module, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const list = diagnostic.file && errors.get(diagnostic.file.fileName);
    if (!list || !diagnostic.file || diagnostic.start === undefined) continue;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    list.push(`${line + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
  }
  return errors;
}

const recipes = RECIPE_NAMES.map(recipeOf);
let errors: Map<string, string[]>;

beforeAll(() => {
  errors = typeErrors(recipes);
}, 120_000);

describe('docs/recipes', () => {
  it('has an index linking one recipe per provider and per adapter', () => {
    const files = readdirSync(RECIPES).filter((file) => file.endsWith('.md'));
    expect(files.sort()).toEqual(['README.md', ...RECIPE_NAMES.map((name) => `${name}.md`)].sort());
    const index = readFileSync(path.join(RECIPES, 'README.md'), 'utf8');
    for (const name of RECIPE_NAMES) expect(index).toContain(`](${name}.md)`);
  });

  it.each(recipes.map((recipe) => [recipe.name, recipe] as const))(
    '%s: its code imports sessionchart and type-checks against it',
    (_name, recipe) => {
      expect(recipe.code).toMatch(/from 'sessionchart(\/\w+)?';/);
      expect(errors.get(recipe.module)).toEqual([]);
    },
  );
});
