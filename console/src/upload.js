// Uploads with a progress bar per file: one PUT up to 16 MiB, beyond that a multipart upload of
// 8 MiB parts (a few at a time); cancel aborts the requests in flight and the multipart upload.
import { bytes, h } from './dom.js'
import { s3, s3xml, tag, upload, escapeXml } from './s3.js'

export const MULTIPART_THRESHOLD = 16 * 1024 * 1024
export const PART_SIZE = 8 * 1024 * 1024
const MAX_PARTS = 10000         // S3's limit: past 80 GB the parts grow, in whole MiB
const PARALLEL_PARTS = 3

let shared = null
let running = 0
// Leaving or reloading the tab would cut the uploads in flight: the browser asks first.
window.addEventListener('beforeunload', (e) => { if (running) e.preventDefault() })

/**
 * The upload panel, one for the whole console so that uploads outlive the page they started on
 * (each bucket page shows it again); `done` (the current page's) runs after each file finishes.
 */
export function uploadPanel(done) {
  if (!shared) shared = makePanel()
  shared.done = done
  return shared
}

function makePanel() {
  const list = h('ul.uploads#uploads')
  const clear = () => {
    for (const li of list.querySelectorAll('li.done, li.failed, li.cancelled')) li.remove()
    panel.hidden = !list.children.length
  }
  const panel = h('section.upload-panel', h('div.titlebar', h('h3', 'Uploads'),
    h('button.link#clear-uploads', { type: 'button', onclick: clear }, 'Clear finished')), list)
  panel.hidden = true

  function add(bucket, prefix, file) {
    const bar = h('progress', { max: file.size || 1, value: 0 })
    const state = h('span.state', 'Waiting')
    const job = { cancelled: false, aborts: new Set() }
    const cancel = h('button.link', { type: 'button', onclick: () => { stop(job); state.textContent = 'Cancelling…' } }, 'Cancel')
    const key = prefix + (file.webkitRelativePath || file.name)
    const item = h('li.upload', { 'data-key': key }, h('span.name', key), bar, h('span.size', bytes(file.size)), state, cancel)
    list.prepend(item)
    panel.hidden = false
    const run = file.size > MULTIPART_THRESHOLD ? multipart : single
    running++
    run(bucket, key, file, job, (n) => { bar.value = n; state.textContent = Math.floor((100 * n) / (file.size || 1)) + ' %' })
      .then(() => { bar.value = bar.max; state.textContent = 'Done'; item.classList.add('done'); self.done() })
      .catch((err) => { state.textContent = job.cancelled ? 'Cancelled' : err.message; item.classList.add(job.cancelled ? 'cancelled' : 'failed') })
      .finally(() => { running--; cancel.remove() })
  }
  const self = { panel, add, done: () => {} }
  return self
}

function stop(job) {
  job.cancelled = true
  for (const abort of job.aborts) abort()
}

function track(job, req) {
  job.aborts.add(req.abort)
  return req.promise.finally(() => job.aborts.delete(req.abort))
}

async function single(bucket, key, file, job, progress) {
  const headers = { 'content-type': file.type || 'application/octet-stream' }
  await track(job, upload('PUT', bucket, key, { headers, body: file, onprogress: progress }))
}

async function multipart(bucket, key, file, job, progress) {
  const headers = { 'content-type': file.type || 'application/octet-stream' }
  const created = await s3xml('POST', bucket, key, { query: { uploads: null }, headers })
  const uploadId = tag(created, 'UploadId')
  const size = Math.max(PART_SIZE, Math.ceil(file.size / MAX_PARTS / 1048576) * 1048576)
  const count = Math.ceil(file.size / size)
  const sent = new Array(count).fill(0)
  const etags = new Array(count)
  let next = 0
  const report = () => progress(sent.reduce((a, b) => a + b, 0))
  async function worker() {
    while (next < count && !job.cancelled) {
      const i = next++
      const body = file.slice(i * size, Math.min(file.size, (i + 1) * size))
      const req = upload('PUT', bucket, key, { query: { partNumber: String(i + 1), uploadId }, body,
        onprogress: (n) => { sent[i] = n; report() } })
      const xhr = await track(job, req)
      sent[i] = body.size
      report()
      etags[i] = xhr.getResponseHeader('etag')
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, count) }, worker))
    if (job.cancelled) throw new Error('Cancelled')
    const parts = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`).join('')
    await s3('POST', bucket, key, { query: { uploadId }, body: `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>` })
  } catch (err) {
    stop(job)
    await s3('DELETE', bucket, key, { query: { uploadId } }).catch(() => {})
    throw err
  }
}
