/** The error classes live beside the machine, which records them; the package exports them from here. */
export * from '../machines/errors.js';
