import { SessionError } from '../errors.js';

/**
 * Failures of what the engine depends on but does not own (a storage, the tabs' channel, lock and store): each
 * goes to `report` as a `SessionError` saying what failed, with its cause, and the engine runs on.
 */
export function reporting(report: (error: unknown) => void, subject: string) {
  const failed = (what: string) => (cause: unknown) => report(new SessionError(`${subject} ${what} failed`, { cause }));
  /** `run`'s result, or undefined when it throws or rejects (both count: a storage or an environment may throw). */
  const attempt = async <T>(what: string, run: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (cause) {
      failed(what)(cause);
      return undefined;
    }
  };
  return { failed, attempt };
}
