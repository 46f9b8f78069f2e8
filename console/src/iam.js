// Users, groups, policies and access keys, through the IAM API on the same port (an account root's pages).
import { ask, errorBox, guard, h, toast, when } from './dom.js'
import { query } from './s3.js'

const TABS = [['users', 'Users'], ['groups', 'Groups'], ['policies', 'Policies']]
const iam = (action, params) => query('iam', action, params)

/** The <member> entries of an IAM answer as objects (those that have a `name` field). */
const members = (el, name) => [...el.getElementsByTagName('member')]
  .map((m) => Object.fromEntries([...m.children].map((c) => [c.localName, c.textContent])))
  .filter((m) => !name || m[name])

export function iamPage(route) {
  const [kind, name] = route.split('/')
  const box = errorBox()
  const body = h('div')
  const tabs = TABS.map(([k, label]) => h('a', { href: `#/iam/${k}`, class: kind === k ? 'active' : null }, label))
  const views = { users, groups, policies, user, group }
  const view = views[kind] || users
  const ctx = { body, box, arg: name && decodeURIComponent(name) }
  ctx.again = () => guard(box, () => view(ctx))
  ctx.again()
  return h('section.page', h('nav.tabs', tabs), box, body)
}

/** A handler that makes one IAM call, then shows the page again. */
function call(ctx, action, params, done = 'Done') {
  return () => guard(ctx.box, async () => { await iam(action, params); toast(done); ctx.again() })
}

function button(label, onclick, cls = '') {
  return h('button' + cls, { type: 'button', onclick }, label)
}

/** A Delete button that asks first. */
function remove(ctx, action, params) {
  const what = `${action.replace(/([A-Z])/g, ' $1').trim()} ${Object.values(params)[0]}?`
  return button('Delete', async () => {
    if (await ask(what, h('p', 'This cannot be undone.'), [['Delete', 'yes', 'danger']]) === 'yes') {
      call(ctx, action, params, 'Deleted')()
    }
  }, '.danger')
}

function table(id, head, rows) {
  const empty = h('tr', h('td.empty', { colspan: head.length }, 'None yet.'))
  return h('div.scroll', h('table', { id }, h('thead', h('tr', head.map((t) => h('th', t)))),
    h('tbody', rows.length ? rows : empty)))
}

/** A one-line form whose fields ([name, placeholder, tag]) become the action's parameters. */
function createForm(ctx, label, fields, action, done) {
  const form = h('form.inline', { onsubmit: (e) => {
    e.preventDefault()
    call(ctx, action, Object.fromEntries(fields.map(([n]) => [n, form.elements[n].value.trim()])), done)()
  } },
  fields.map(([n, placeholder, tag]) => h(tag || 'input', { name: n, id: 'new-' + n, placeholder, 'aria-label': placeholder, required: true })),
  h('button.primary', label))
  return form
}

/** A policy picker and Attach button (`params(arn)`: the attach call's parameters). */
function attachForm(ctx, policies, action, params) {
  if (!policies.length) return h('p.hint', 'No policies to attach yet: create one under Policies.')
  const select = h('select', { 'aria-label': 'Policy' }, policies.map((p) => h('option', { value: p.Arn }, p.PolicyName || p.Arn)))
  return h('form.inline', { onsubmit: (e) => { e.preventDefault(); call(ctx, action, params(select.value), 'Attached')() } },
    select, h('button', 'Attach'))
}

function attachedTable(ctx, id, attached, action, holder) {
  return table(id, ['Policy', ''], members(attached, 'PolicyArn').map((p) => h('tr', h('td.mono', p.PolicyArn),
    h('td.actions', button('Detach', call(ctx, action, { ...holder, PolicyArn: p.PolicyArn }, 'Detached'))))))
}

async function users(ctx) {
  const list = members(await iam('ListUsers'), 'UserName')
  ctx.body.replaceChildren(h('h2', 'Users'),
    createForm(ctx, 'Create user', [['UserName', 'User name']], 'CreateUser', 'User created'),
    table('users', ['Name', 'ARN', 'Created', ''], list.map((u) => h('tr', { 'data-user': u.UserName },
      h('td', h('a', { href: `#/iam/user/${encodeURIComponent(u.UserName)}` }, u.UserName)),
      h('td.mono', u.Arn), h('td', when(u.CreateDate)),
      h('td.actions', remove(ctx, 'DeleteUser', { UserName: u.UserName }))))))
}

async function user(ctx) {
  const name = ctx.arg
  const [keys, attached, inline, groupsOf, all] = await Promise.all([
    iam('ListAccessKeys', { UserName: name }), iam('ListAttachedUserPolicies', { UserName: name }),
    iam('ListUserPolicies', { UserName: name }), iam('ListGroupsForUser', { UserName: name }), iam('ListPolicies')])
  const createKey = () => guard(ctx.box, async () => {
    const k = await iam('CreateAccessKey', { UserName: name })
    const [id, secret] = ['AccessKeyId', 'SecretAccessKey'].map((n) => k.getElementsByTagName(n)[0].textContent)
    await ctx.again()
    ctx.body.querySelector('#new-key').replaceChildren(h('p.notice', 'New key ', h('code', id), ', secret ',
      h('code#new-secret', secret), ' (shown this once).'))
  })
  const keyRow = (k) => h('tr', h('td.mono', k.AccessKeyId), h('td', k.Status), h('td', when(k.CreateDate)),
    h('td.actions',
      button(k.Status === 'Active' ? 'Deactivate' : 'Activate', call(ctx, 'UpdateAccessKey',
        { UserName: name, AccessKeyId: k.AccessKeyId, Status: k.Status === 'Active' ? 'Inactive' : 'Active' })),
      remove(ctx, 'DeleteAccessKey', { AccessKeyId: k.AccessKeyId, UserName: name })))
  const inlineNames = [...inline.getElementsByTagName('member')].map((m) => m.textContent)
  ctx.body.replaceChildren(h('h2', `User ${name}`),
    h('h3', 'Access keys'), h('div#new-key'), button('Create access key', createKey, '.primary#create-key'),
    table('keys', ['Access key', 'Status', 'Created', ''], members(keys, 'AccessKeyId').map(keyRow)),
    h('h3', 'Attached policies'),
    attachForm(ctx, members(all, 'Arn'), 'AttachUserPolicy', (arn) => ({ UserName: name, PolicyArn: arn })),
    attachedTable(ctx, 'user-policies', attached, 'DetachUserPolicy', { UserName: name }),
    h('h3', 'Inline policies'), h('p', inlineNames.join(', ') || 'None'),
    h('h3', 'Groups'), h('p', members(groupsOf, 'GroupName').map((g) => g.GroupName).join(', ') || 'None'))
}

async function groups(ctx) {
  const list = members(await iam('ListGroups'), 'GroupName')
  ctx.body.replaceChildren(h('h2', 'Groups'),
    createForm(ctx, 'Create group', [['GroupName', 'Group name']], 'CreateGroup', 'Group created'),
    table('groups', ['Name', 'ARN', ''], list.map((g) => h('tr',
      h('td', h('a', { href: `#/iam/group/${encodeURIComponent(g.GroupName)}` }, g.GroupName)), h('td.mono', g.Arn),
      h('td.actions', remove(ctx, 'DeleteGroup', { GroupName: g.GroupName }))))))
}

async function group(ctx) {
  const name = ctx.arg
  const [got, attached, all, everyone] = await Promise.all([iam('GetGroup', { GroupName: name }),
    iam('ListAttachedGroupPolicies', { GroupName: name }), iam('ListPolicies'), iam('ListUsers')])
  const pick = h('select', { 'aria-label': 'User' }, members(everyone, 'UserName').map((u) => h('option', u.UserName)))
  const add = (e) => { e.preventDefault(); call(ctx, 'AddUserToGroup', { GroupName: name, UserName: pick.value }, 'Added')() }
  ctx.body.replaceChildren(h('h2', `Group ${name}`),
    h('h3', 'Members'), h('form.inline', { onsubmit: add }, pick, h('button', 'Add')),
    table('members', ['User', ''], members(got, 'UserName').map((u) => h('tr', h('td', u.UserName),
      h('td.actions', button('Remove', call(ctx, 'RemoveUserFromGroup', { GroupName: name, UserName: u.UserName })))))),
    h('h3', 'Attached policies'),
    attachForm(ctx, members(all, 'Arn'), 'AttachGroupPolicy', (arn) => ({ GroupName: name, PolicyArn: arn })),
    attachedTable(ctx, 'group-policies', attached, 'DetachGroupPolicy', { GroupName: name }))
}

async function policies(ctx) {
  const list = members(await iam('ListPolicies', { Scope: 'Local' }), 'Arn')
  const doc = h('pre#policy-document')
  const show = (p) => guard(ctx.box, async () => {
    const v = await iam('GetPolicyVersion', { PolicyArn: p.Arn, VersionId: p.DefaultVersionId })
    doc.textContent = JSON.stringify(JSON.parse(decodeURIComponent(v.getElementsByTagName('Document')[0].textContent)), null, 2)
  })
  ctx.body.replaceChildren(h('h2', 'Policies'),
    createForm(ctx, 'Create policy', [['PolicyName', 'Policy name'], ['PolicyDocument', 'Policy document (JSON)', 'textarea']],
      'CreatePolicy', 'Policy created'),
    table('policies', ['Name', 'ARN', 'Attachments', ''], list.map((p) => h('tr', { 'data-policy': p.PolicyName },
      h('td', h('button.link', { type: 'button', onclick: () => show(p) }, p.PolicyName)), h('td.mono', p.Arn),
      h('td', p.AttachmentCount), h('td.actions', remove(ctx, 'DeletePolicy', { PolicyArn: p.Arn }))))),
    doc)
}
