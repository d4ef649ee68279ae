/**
 * `npm run demo`: the token server and the demo page (Vite) on 127.0.0.1, until Ctrl-C.
 * PORT picks the page's port (default 5173, or the next free one).
 */
import { startDemo } from './server.js';

const demo = await startDemo({ port: Number(process.env.PORT ?? 5173) });
console.log('sessionchart demo');
console.log(`  page:            ${demo.url}`);
console.log(`  token endpoint:  ${demo.tokenServerUrl} (the page reaches it through /auth)`);
console.log('Open the page in a browser. Ctrl-C stops the demo.');

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  demo.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
