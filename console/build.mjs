// Builds the console into s3front/console/static (committed, so running Coffer needs no npm):
// one minified ES module bundle, the stylesheet and the page.
import { build } from 'esbuild'
import { copyFileSync, mkdirSync } from 'node:fs'

const out = '../s3front/console/static'
mkdirSync(out, { recursive: true })
await build({
  entryPoints: ['src/main.js'], bundle: true, minify: true, format: 'esm', target: 'es2020',
  outfile: `${out}/console.js`, legalComments: 'eof', logLevel: 'info',
})
await build({ entryPoints: ['src/console.css'], bundle: true, minify: true, outfile: `${out}/console.css`, logLevel: 'info' })
copyFileSync('src/index.html', `${out}/index.html`)
