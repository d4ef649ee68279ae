/** Boots the demo page: the shared laptop clock first, then the engine (recorded from its start), then React. */
import { demoClock } from './clock.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createActivityRecorder } from '../../src/viewer/index.js';
import { App } from './App.js';
import { wasReloaded, watchRestore } from './restoreReport.js';
import { createDemoEngine, demoApi } from './session.js';

async function boot() {
  const settings = await demoApi('/settings');
  // A tab opened after a "sleep" starts on the slept clock, like every other tab of the laptop.
  demoClock.setSlept(settings.sleptMs);
  // Recorded from the engine's first event, so the log starts with how this tab got its session.
  const recorder = createActivityRecorder();
  const engine = createDemoEngine(recorder.inspect);
  // Watched from the engine's first state, before its store is read: the Reload control says how it came back.
  const restored = wasReloaded() ? watchRestore(engine) : null;
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App engine={engine} recorder={recorder} initialSettings={settings} restored={restored} />
    </StrictMode>,
  );
}

boot().catch((error: unknown) => {
  document.body.textContent = `The demo could not start: ${error instanceof Error ? error.message : String(error)}`;
});
