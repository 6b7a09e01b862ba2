/**
 * The dashboard's own files: the page, its script and style (src/serve/client/, shipped with the
 * package) and ECharts from node_modules — nothing comes from a CDN.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// this file is dist/src/serve/static-files.js: the client folder is src/serve/client/ of the package
const CLIENT_DIR = fileURLToPath(new URL('../../../src/serve/client/', import.meta.url));

/** URL path → file and content type of every static file the dashboard serves. */
export const STATIC_FILES: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['/', { file: `${CLIENT_DIR}index.html`, type: 'text/html; charset=utf-8' }],
  ['/app.js', { file: `${CLIENT_DIR}app.js`, type: 'text/javascript; charset=utf-8' }],
  ['/style.css', { file: `${CLIENT_DIR}style.css`, type: 'text/css; charset=utf-8' }],
  [
    '/vendor/echarts.min.js',
    { file: createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'), type: 'text/javascript; charset=utf-8' },
  ],
]);

/** Content types of the run files the dashboard serves (any other extension is refused). */
export const RUN_FILE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};
