// The console's shell: a header, and a view per route (#/buckets, #/b/<bucket>/<prefix>, …).
import './subtle.js'
import { $, fill, h } from './dom.js'
import { credentials, setCredentials } from './s3.js'
import { loginPage } from './login.js'
import { bucketsPage } from './buckets.js'
import { objectsPage } from './objects.js'
import { objectPage } from './object.js'
import { settingsPage } from './settings.js'
import { iamPage } from './iam.js'

const ROUTES = [
  [/^#\/b\/([^/]+)\/?(.*)$/, (m) => objectsPage(dec(m[1]), dec(m[2]))],
  [/^#\/o\/([^/]+)\/([^?]+)(?:\?v=(.*))?$/, (m) => objectPage(dec(m[1]), dec(m[2]), m[3] ? dec(m[3]) : undefined)],
  [/^#\/s\/([^/]+)$/, (m) => settingsPage(dec(m[1]))],
  [/^#\/iam\/?(.*)$/, (m) => iamPage(dec(m[1]))],
  [/^#\/buckets$/, () => bucketsPage()],
]

function dec(s) {
  try { return decodeURIComponent(s) } catch { return s }
}

function header() {
  const c = credentials()
  return h('header',
    h('a.brand', { href: '#/buckets' }, 'Coffer'),
    c ? h('nav',
      h('a', { href: '#/buckets' }, 'Buckets'),
      c.root ? h('a', { href: '#/iam/users' }, 'Identity') : null) : null,
    c ? h('span.who', { title: c.arn || '' }, c.accessKeyId + (c.root ? ' (account root)' : '')) : null,
    c ? h('button.link#logout', { type: 'button', onclick: logout }, 'Log out') : null)
}

function logout() {
  setCredentials(null)
  location.hash = '#/login'
}

export function render() {
  const view = $('#view')
  fill($('#top'), header())
  if (!credentials()) {
    fill(view, loginPage(() => { location.hash = '#/buckets'; render() }))
    return
  }
  const route = ROUTES.map(([re, page]) => [location.hash.match(re), page]).find(([m]) => m)
  if (!route) { location.hash = '#/buckets'; return }
  fill(view, route[1](route[0]))
  window.scrollTo(0, 0)
}

window.addEventListener('hashchange', render)
render()
