/**
 * The demo's laptop clock. A page cannot put the laptop to sleep, so "sleep" moves this page's Date.now() ahead
 * instead: the engine reads the time only from Date.now(), while the timers it armed keep their real delays,
 * which is what a closed lid does to them. Imported first, before anything reads the time.
 */
const realNow = Date.now.bind(Date);
let sleptMs = 0;
Date.now = () => realNow() + sleptMs;

export const demoClock = {
  get sleptMs() {
    return sleptMs;
  },
  /** Sets the total time slept (the token server keeps the count that every tab shares); never goes back. */
  setSlept(totalMs: number) {
    sleptMs = Math.max(sleptMs, totalMs);
  },
};
