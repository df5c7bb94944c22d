export { activeResources, assertNoLeaks, baseline, settle } from './leaks.js';
export { freePort } from './ports.js';
export { waitFor } from './wait.js';
