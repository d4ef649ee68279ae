/** The preset ships no types: it is the list of size-limit plugins (esbuild, then file). */
declare module '@size-limit/preset-small-lib' {
  const plugins: Array<(...args: never[]) => unknown>;
  export default plugins;
}
