// The console's S3 and IAM client: every request is signed in the browser with SigV4 (aws4fetch),
// so the console is one more S3 client and every permission rule applies to it.
import { AwsV4Signer } from 'aws4fetch'

const KEY = 'coffer.credentials'
const meta = document.querySelector('meta[name=coffer-region]')
export const region = (meta && meta.content && !meta.content.startsWith('{')) ? meta.content : 'us-east-1'
const signingKeys = new Map()     // aws4fetch's cache of derived keys, shared by every request
let creds = JSON.parse(sessionStorage.getItem(KEY) || 'null')

export const credentials = () => creds

/** Keep the credentials for this tab only (sessionStorage), or forget them (null). */
export function setCredentials(c) {
  creds = c
  if (c) sessionStorage.setItem(KEY, JSON.stringify(c))
  else sessionStorage.removeItem(KEY)
}

export class S3Error extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`)
    this.status = status
    this.code = code
  }
}

// HEAD answers have no body: the error is named from its status.
const HEAD_ERRORS = { 400: 'Bad Request', 403: 'Access Denied', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict' }

/** RFC 3986 encoding of one query value or key path ('/' kept when `path`). */
export function enc(s, path = false) {
  const out = encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return path ? out.replace(/%2F/g, '/') : out
}

/** The URL of a bucket, an object or the service; `query` maps names to values (null: a bare flag). */
export function url(bucket, key, query) {
  let path = '/'
  if (bucket) path += enc(bucket) + '/'
  if (key != null) path += enc(key, true)
  const q = Object.entries(query || {}).filter(([, v]) => v !== undefined)
    .map(([k, v]) => (v === null ? enc(k) : enc(k) + '=' + enc(v))).join('&')
  return location.origin + path + (q ? '?' + q : '')
}

async function sign(req, service = 's3', signQuery = false) {
  if (!creds) throw new S3Error(0, 'NotLoggedIn', 'Log in first')
  const signer = new AwsV4Signer({
    ...req, service, region, signQuery, cache: signingKeys,
    accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken || undefined,
  })
  return signer.sign()
}

/** The error in a failed answer's XML (S3's <Error>, IAM's <ErrorResponse><Error>). */
export function errorOf(status, text, method) {
  const doc = text ? parseXml(text) : null
  const code = doc && tag(doc, 'Code')
  const message = doc && tag(doc, 'Message')
  if (code || message) return new S3Error(status, code, message || code)
  return new S3Error(status, '', (method === 'HEAD' && HEAD_ERRORS[status]) || text || `HTTP ${status}`)
}

/** One signed S3 request (`checksum`: send the body's SHA-256); resolves with the Response, rejects with an S3Error. */
export async function s3(method, bucket, key, { query, headers, body, checksum } = {}) {
  headers = { ...(headers || {}) }
  // What S3 wants a Content-MD5 for (lifecycle, DeleteObjects) it also takes with a SHA-256 checksum.
  if (checksum) headers['x-amz-checksum-sha256'] = await sha256b64(body)
  const signed = await sign({ method, url: url(bucket, key, query), headers, body })
  const resp = await fetch(signed.url, { method, headers: signed.headers, body: signed.body, cache: 'no-store' })
  if (!resp.ok) throw errorOf(resp.status, await resp.text(), method)
  return resp
}

/** An S3 request answered with XML: the parsed document. */
export async function s3xml(method, bucket, key, opts) {
  const resp = await s3(method, bucket, key, opts)
  return parseXml(await resp.text())
}

/** A presigned URL (query-string SigV4) valid for `seconds`. */
export async function presign(method, bucket, key, query, seconds) {
  const signed = await sign({ method, url: url(bucket, key, { ...query, 'X-Amz-Expires': String(seconds) }) }, 's3', true)
  return signed.url.toString()
}

/** An IAM or STS Query API call (a form-encoded POST to / on the same port); the <…Result> element. */
export async function query(service, action, params = {}) {
  const version = service === 'sts' ? '2011-06-15' : '2010-05-08'
  const body = Object.entries({ Action: action, Version: version, ...params })
    .filter(([, v]) => v != null).map(([k, v]) => enc(k) + '=' + enc(v)).join('&')
  const signed = await sign({ method: 'POST', url: location.origin + '/', body,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } }, service)
  const resp = await fetch(signed.url, { method: 'POST', headers: signed.headers, body, cache: 'no-store' })
  const text = await resp.text()
  if (!resp.ok) throw errorOf(resp.status, text, 'POST')
  const doc = parseXml(text)
  return doc.getElementsByTagName(action + 'Result')[0] || doc.documentElement
}

/**
 * A signed upload through XMLHttpRequest (fetch reports no upload progress).
 * Returns {promise, abort}; the promise resolves with the XHR once answered 2xx.
 */
export function upload(method, bucket, key, { query, headers, body, onprogress }) {
  const xhr = new XMLHttpRequest()
  let aborted = false
  const promise = (async () => {
    const signed = await sign({ method, url: url(bucket, key, query), headers: headers || {} })
    if (aborted) throw new S3Error(0, 'Cancelled', 'Cancelled')
    return new Promise((resolve, reject) => {
      xhr.open(method, signed.url)
      signed.headers.forEach((v, k) => { if (k !== 'host') xhr.setRequestHeader(k, v) })
      xhr.upload.onprogress = (e) => onprogress && onprogress(e.loaded)
      xhr.onload = () => (xhr.status < 300 ? resolve(xhr) : reject(errorOf(xhr.status, xhr.responseText, method)))
      xhr.onerror = () => reject(new S3Error(0, 'NetworkError', 'The connection failed'))
      xhr.onabort = () => reject(new S3Error(0, 'Cancelled', 'Cancelled'))
      xhr.send(body)
    })
  })()
  return { promise, abort: () => { aborted = true; xhr.abort() } }
}

export function parseXml(text) {
  return new DOMParser().parseFromString(text, 'application/xml')
}

/** The text of the first `name` element under `el` ('' when absent). */
export function tag(el, name) {
  const found = el.getElementsByTagName(name)[0]
  return found ? found.textContent : ''
}

/** Every `name` element that is a direct child of `el`. */
export function children(el, name) {
  return [...el.children].filter((c) => c.localName === name)
}

export function escapeXml(s) {
  return String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]))
}

async function sha256b64(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
}

/** A <Tagging> document as `key=value` lines, and back. */
export function tagsText(doc) {
  const set = doc.getElementsByTagName('TagSet')[0] || doc.documentElement
  return children(set, 'Tag').map((t) => `${tag(t, 'Key')}=${tag(t, 'Value')}`).join('\n')
}

export function tagsXml(text) {
  const pairs = text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(/=(.*)/s))
  const tags = pairs.map(([k, v]) => `<Tag><Key>${escapeXml(k.trim())}</Key><Value>${escapeXml((v || '').trim())}</Value></Tag>`)
  return `<Tagging><TagSet>${tags.join('')}</TagSet></Tagging>`
}
