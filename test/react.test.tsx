// @vitest-environment jsdom
import { act, render, renderHook, screen } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { SessionProvider, useGetToken, useSession, useSessionEngine } from '../src/react/index.js';
import { SessionError, type SessionEngine, type SessionSnapshot } from '../src/index.js';
import { T0, createHarness, flush, useEngineClock, type Harness } from './support/engineHarness.js';

useEngineClock();

/** Records every value a component rendered with. */
function probe<T>(select: (snapshot: SessionSnapshot) => T) {
  const rendered: T[] = [];
  function Probe({ testId }: { testId: string }) {
    const value = useSession(select);
    rendered.push(value);
    return <span data-testid={testId}>{String(value)}</span>;
  }
  return { Probe, rendered };
}

const wrapperFor =
  (engine: SessionEngine) =>
  ({ children }: { children: ReactNode }) => <SessionProvider engine={engine}>{children}</SessionProvider>;

/** Advances the fake clock inside `act`, one step at a time so React commits after each. */
async function advance(ms: number) {
  await act(() => vi.advanceTimersByTimeAsync(ms));
}

function autoRefresh(h: Harness) {
  h.reply = (call) => call.respond({ sid: 's1' });
}

describe('useSession', () => {
  it('does not re-render a sessionKey selector over ten background refreshes', async () => {
    const h = createHarness();
    autoRefresh(h);
    h.signIn({ sid: 's1' });
    const key = probe((s) => s.sessionKey);
    const expiry = probe((s) => s.expiresAt);
    render(
      <SessionProvider engine={h.engine}>
        <key.Probe testId="key" />
        <expiry.Probe testId="expiry" />
      </SessionProvider>,
    );
    expect(screen.getByTestId('key').textContent).toBe('s1');

    for (let refresh = 1; refresh <= 10; refresh += 1) await advance(45_000);
    expect(h.calls).toHaveLength(10);
    expect(key.rendered).toEqual(['s1']);
    // The same steps did re-render a component whose slice changes on each refresh.
    expect(expiry.rendered).toHaveLength(11);
    expect(new Set(expiry.rendered).size).toBe(11);
  });

  it('re-renders a status selector on each status change, and only then', async () => {
    const h = createHarness();
    h.signIn();
    const status = probe((s) => s.status);
    render(
      <SessionProvider engine={h.engine}>
        <status.Probe testId="status" />
      </SessionProvider>,
    );
    expect(screen.getByTestId('status').textContent).toBe('fresh');

    await advance(45_000); // the refresh is due and stays pending
    expect(h.calls).toHaveLength(1);
    expect(screen.getByTestId('status').textContent).toBe('refreshing');
    await advance(5_000); // nothing changes while it is pending
    await act(async () => {
      h.lastCall().respond();
      await flush();
    });
    expect(screen.getByTestId('status').textContent).toBe('fresh');
    await act(async () => h.engine.signOut());
    expect(status.rendered).toEqual(['fresh', 'refreshing', 'fresh', 'signedOut']);
  });

  it('returns the whole snapshot without a selector, keeping its identity while no field changes', async () => {
    const h = createHarness();
    const { result } = renderHook(() => useSession(), { wrapper: wrapperFor(h.engine) });
    expect(result.current).toMatchObject({ status: 'signedOut', sessionKey: null, expiresAt: null, error: null });
    await act(async () => h.signIn({ sid: 'abc' }));
    const signedIn = result.current;
    expect(signedIn).toEqual({
      status: 'fresh',
      sessionKey: 'abc',
      session: { sessionKey: 'abc', userId: 'user-1', startedAt: T0 },
      expiresAt: T0 + 60_000,
      issuedAt: T0,
      error: null,
      lastRefreshAt: null,
    });
    await advance(10_000);
    expect(result.current).toBe(signedIn);
  });

  it('reads the machine without sending it anything, and never shows fresh for a token the clock says is stale', async () => {
    const h = createHarness();
    h.signIn();
    vi.setSystemTime(T0 + 50_000); // the device slept past the refresh point; no timer has fired
    const machineBefore = h.engine.actor.getSnapshot();
    const rendered: string[] = [];
    function Status() {
      rendered.push(useSession((s) => s.status));
      return null;
    }
    render(
      <SessionProvider engine={h.engine}>
        <Status />
      </SessionProvider>,
    );
    await act(flush);
    // Neither render nor mounting told the machine anything: it still thinks the token fresh and sent no request.
    expect(h.engine.actor.getSnapshot()).toBe(machineBefore);
    expect(machineBefore.value).toBe('fresh');
    expect(h.calls).toHaveLength(0);
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.every((status) => status === 'stale')).toBe(true);
  });

  it('throws a SessionError outside a SessionProvider', () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const hooks: Array<() => unknown> = [useSessionEngine, () => useSession(), useGetToken];
      for (const hook of hooks) {
        let thrown: unknown;
        try {
          renderHook(hook);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(SessionError);
        expect((thrown as SessionError).code).toBe('session');
      }
    } finally {
      quiet.mockRestore();
    }
  });
});

describe('useGetToken and useSessionEngine', () => {
  it('returns the provider engine and a getToken whose identity survives re-renders and refreshes', async () => {
    const h = createHarness();
    autoRefresh(h);
    const { accessToken } = h.signIn();
    const { result, rerender } = renderHook(() => ({ engine: useSessionEngine(), getToken: useGetToken() }), {
      wrapper: wrapperFor(h.engine),
    });
    expect(result.current.engine).toBe(h.engine);
    const { getToken } = result.current;
    expect(await getToken()).toBe(accessToken);
    rerender();
    await advance(45_000);
    expect(result.current.getToken).toBe(getToken);
    const refreshed = await getToken();
    expect(refreshed).toBe(h.peekToken());
    expect(refreshed).not.toBe(accessToken);
  });
});
