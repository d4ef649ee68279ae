/**
 * The web demo's server: the local token server (sessionchart/testing's, demo/demoTokenServer.ts) behind a Vite
 * dev server that serves the page (demo/web, React, the sessionchart sources) on 127.0.0.1. `/auth/*` is proxied
 * to the token server; `/api/*` is the bearer API the page calls (demo/resourceApi.ts); `/demo-api/*` changes the
 * token server's settings for the page's controls (failures, latency, token life, clocks) and reads the counts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin } from 'vite';
import { CLOCK_AHEAD_MS, LATENCY_MS, LIFE_SECONDS, isWithin, type Range } from '../settingLimits.js';
import { createResourceApi, type ApiCounts, type ResourceApi } from '../resourceApi.js';
import type { TokenServer } from '../../src/testing/index.js';
import { startDemoTokenServer, type DemoTokenServer, type FailureMode, type TokenServerSettings } from '../demoTokenServer.js';

export interface DemoOptions {
  /** 0 picks a free port; a taken port moves on to the next free one. Default 5173. */
  port?: number;
  host?: string;
}

export interface Demo {
  /** The page, e.g. http://127.0.0.1:5173/ */
  url: string;
  /** sessionchart/testing's token server, reached at `/auth`. */
  tokenServer: TokenServer;
  /** Where the token server listens, e.g. http://127.0.0.1:54321 */
  tokenServerUrl: string;
  /** The token server's settings, as the page shows them. */
  settings(): TokenServerSettings;
  /** The bearer API at `/api`, with its request counts. */
  api: ResourceApi;
  stop(): Promise<void>;
}

/** `/demo-api/counts`: what the page shows after a call to the API. */
export interface DemoCounts {
  api: ApiCounts;
  /** Refresh requests the token server answered with a token. */
  refreshes: number;
}

export const DEMO_TOKEN_LIFE_S = 20;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const pageRoot = fileURLToPath(new URL('.', import.meta.url));
const FAILURES: readonly FailureMode[] = ['none', 'unavailable', 'rateLimited', 'hang'];

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const finite = (value: unknown, min: number, max: number) =>
  typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : undefined;

/** Applies a partial settings change, all or nothing: a value out of range is refused (400). */
function changeSettings(tokens: DemoTokenServer, body: Record<string, unknown>) {
  const within = (value: unknown, range: Range): number | undefined => {
    if (value !== undefined && !isWithin(value, range)) throw new RangeError('a setting is out of range');
    return value as number | undefined;
  };
  // Every value is checked before any is applied.
  tokens.change({
    lifeSeconds: within(body.lifeSeconds, LIFE_SECONDS),
    latencyMs: within(body.latencyMs, LATENCY_MS),
    clockAheadMs: within(body.clockAheadMs, CLOCK_AHEAD_MS),
    failure: FAILURES.includes(body.failure as FailureMode) ? (body.failure as FailureMode) : undefined,
  });
}

const answerJson = (response: ServerResponse, body: object) => {
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
};

/** `/demo-api/settings` (GET, POST a partial), `/demo-api/sleep` and `/demo-api/rotate` (POST), `/demo-api/counts`. */
async function handleDemoApi(tokens: DemoTokenServer, api: ResourceApi, request: IncomingMessage, response: ServerResponse) {
  const route = request.url?.split('?')[0];
  if (route === '/counts' && request.method === 'GET') {
    return answerJson(response, { api: api.counts, refreshes: tokens.server.counters.granted } satisfies DemoCounts);
  }
  const body = request.method === 'POST' ? await readJson(request) : {};
  if (route === '/settings' && request.method === 'POST') {
    changeSettings(tokens, body);
  } else if (route === '/sleep' && request.method === 'POST') {
    tokens.sleep(finite(body.ms, 0, 86_400_000) ?? 0);
  } else if (route === '/rotate' && request.method === 'POST' && typeof body.sid === 'string') {
    // A session this server never started (another run's, kept by the tabs' store) has nothing to rotate.
    if (tokens.server.session(body.sid)) tokens.server.rotateSession(body.sid);
  } else if (route !== '/settings') {
    response.writeHead(404).end();
    return;
  }
  answerJson(response, tokens.settings());
}

function demoServers(tokens: DemoTokenServer, api: ResourceApi): Plugin {
  const refused = (response: ServerResponse) => () => {
    if (!response.headersSent) response.writeHead(400);
    response.end();
  };
  return {
    name: 'sessionchart-demo-api',
    configureServer(server) {
      server.middlewares.use('/demo-api', (request, response) => {
        handleDemoApi(tokens, api, request, response).catch(refused(response));
      });
      server.middlewares.use('/api', (request, response) => api.handle(request, response));
    },
  };
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const tokens = await startDemoTokenServer(DEMO_TOKEN_LIFE_S);
  const api = createResourceApi(tokens.server);
  try {
    const vite = await createServer({
      configFile: false,
      root: pageRoot,
      cacheDir: fileURLToPath(new URL('../../node_modules/.vite/sessionchart-demo', import.meta.url)),
      logLevel: 'warn',
      clearScreen: false,
      plugins: [demoServers(tokens, api)],
      server: {
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 5173,
        strictPort: false,
        hmr: false,
        fs: { allow: [repoRoot] },
        proxy: { '/auth': { target: tokens.url, rewrite: (path) => path.replace(/^\/auth/, '') } },
      },
      // Pre-bundled up front: a dependency found late would make Vite reload the page mid-demo.
      optimizeDeps: {
        entries: ['index.html'],
        include: ['react', 'react-dom/client', 'react/jsx-runtime', 'xstate', 'xstate/graph', 'rxjs', 'jose', 'idb-keyval', 'elkjs/lib/elk.bundled.js', '@xstate/react'],
      },
    });
    await vite.listen();
    const url = vite.resolvedUrls?.local[0];
    if (!url) throw new Error('Vite did not report the URL it listens on');
    return {
      url,
      tokenServer: tokens.server,
      tokenServerUrl: tokens.url,
      settings: tokens.settings,
      api,
      async stop() {
        await vite.close();
        await tokens.close();
      },
    };
  } catch (error) {
    await tokens.close();
    throw error;
  }
}
