import type { Observable } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultOnline$, defaultResume$ } from '../../src/engine/environment.js';

/** The default network and resume signals: browser events in a page, constants elsewhere. */

afterEach(() => vi.unstubAllGlobals());

function collect<T>(source: Observable<T>) {
  const seen: T[] = [];
  let done = false;
  const subscription = source.subscribe({ next: (value) => seen.push(value), complete: () => (done = true) });
  return {
    seen,
    get done() {
      return done;
    },
    subscription,
  };
}

/** A page: window and document as event targets, navigator with its online flag. */
function stubPage(onLine: boolean | undefined, visibilityState = 'visible') {
  const window = new EventTarget();
  const document = Object.assign(new EventTarget(), { visibilityState });
  vi.stubGlobal('window', window);
  vi.stubGlobal('document', document);
  vi.stubGlobal('navigator', { onLine });
  return { window, document };
}

describe('outside a browser', () => {
  it('is always online, in one value', () => {
    const online = collect(defaultOnline$());
    expect(online.seen).toEqual([true]);
    expect(online.done).toBe(true);
  });

  it('never resumes', () => {
    const resume = collect(defaultResume$());
    expect(resume.seen).toEqual([]);
    expect(resume.done).toBe(true);
  });

  it('a window without navigator or document is no browser either', () => {
    vi.stubGlobal('window', new EventTarget());
    vi.stubGlobal('navigator', undefined);
    vi.stubGlobal('document', undefined);
    expect(collect(defaultOnline$()).seen).toEqual([true]);
    expect(collect(defaultResume$()).done).toBe(true);
  });

  it('a worker (navigator, no window) is always online and never resumes', () => {
    vi.stubGlobal('navigator', { onLine: false });
    expect(collect(defaultOnline$()).seen).toEqual([true]);
    // A document without a window (a DOM shim) is no page either.
    vi.stubGlobal('document', Object.assign(new EventTarget(), { visibilityState: 'visible' }));
    expect(collect(defaultResume$()).done).toBe(true);
  });
});

describe('in a browser', () => {
  it("starts from navigator.onLine, then follows the window's online and offline events", () => {
    const { window } = stubPage(false);
    const online = collect(defaultOnline$());
    window.dispatchEvent(new Event('online'));
    window.dispatchEvent(new Event('offline'));
    expect(online.seen).toEqual([false, true, false]);
    expect(online.done).toBe(false);
    online.subscription.unsubscribe();
  });

  it('counts an unknown navigator.onLine as online', () => {
    stubPage(undefined);
    const online = collect(defaultOnline$());
    expect(online.seen).toEqual([true]);
    online.subscription.unsubscribe();
  });

  it('reads navigator.onLine when subscribed, not when created', () => {
    stubPage(true);
    const online$ = defaultOnline$();
    vi.stubGlobal('navigator', { onLine: false });
    const online = collect(online$);
    expect(online.seen).toEqual([false]);
    online.subscription.unsubscribe();
  });

  it('resumes when the page becomes visible, is focused or is shown again', () => {
    const { window, document } = stubPage(true, 'hidden');
    const resume = collect(defaultResume$());
    document.dispatchEvent(new Event('visibilitychange'));
    expect(resume.seen).toHaveLength(0);
    document.visibilityState = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new Event('focus'));
    window.dispatchEvent(new Event('pageshow'));
    window.dispatchEvent(new Event('blur'));
    expect(resume.seen.map((event) => (event as Event).type)).toEqual(['visibilitychange', 'focus', 'pageshow']);
    resume.subscription.unsubscribe();
  });

  it('removes every listener it added when unsubscribed', () => {
    const { window, document } = stubPage(true);
    const removed: string[] = [];
    for (const target of [window, document]) {
      const remove = target.removeEventListener.bind(target);
      vi.spyOn(target, 'removeEventListener').mockImplementation((type, listener, options) => {
        removed.push(type);
        remove(type, listener, options);
      });
    }
    collect(defaultOnline$()).subscription.unsubscribe();
    collect(defaultResume$()).subscription.unsubscribe();
    expect(removed.sort()).toEqual(['focus', 'offline', 'online', 'pageshow', 'visibilitychange']);
  });
});
