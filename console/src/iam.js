// Users, groups, policies and access keys, through the IAM API on the same port (an account root's pages).
import { ask, errorBox, guard, h, toast, when } from './dom.js'
import { query } from './s3.js'

const TABS = [['users', 'Users'], ['groups', 'Groups'], ['policies', 'Policies']]
const iam = (action, params) => query('iam', action, params)
const members = (el, name) => [...el.getElementsByTagName('member')].map((m) => Object.fromEntries(
  [...m.children].map((c) => [c.localName, c.textContent]))).filter((m) => !name || m[name])

export function iamPage(route) {
  const [kind, name] = route.split('/')
  const box = errorBox()
  const body = h('div')
  const page = h('section.page',
    h('nav.tabs', TABS.map(([k, label]) => h('a', { href: `#/iam/${k}`, class: kind === k ? 'active' : null }, label))),
    box, body)
  const views = { users, groups, policies, user, group }
  guard(box, () => (views[kind] || users)(body, box, name && decodeURIComponent(name)))
  return page
}

function table(id, head, rows) {
  return h('div.scroll', h('table', { id }, h('thead', h('tr', head.map((t) => h('th', t)))),
    h('tbody', rows.length ? rows : h('tr', h('td.empty', { colspan: head.length }, 'None yet.')))))
}

function createForm(label, fields, action) {
  const form = h('form.inline', { onsubmit: (e) => { e.preventDefault(); action(Object.fromEntries(fields.map(([n]) => [n, form.elements[n].value.trim()]))) } },
    fields.map(([n, placeholder, tagName]) => h(tagName || 'input', { name: n, id: 'new-' + n, placeholder, 'aria-label': placeholder, required: true })),
    h('button.primary', label))
  return form
}

function rerender(body, box, view, ...args) {
  return () => guard(box, () => view(body, box, ...args))
}

async function users(body, box) {
  const list = members(await iam('ListUsers'), 'UserName')
  const again = rerender(body, box, users)
  body.replaceChildren(h('h2', 'Users'),
    createForm('Create user', [['UserName', 'User name']], (v) => guard(box, async () => { await iam('CreateUser', v); toast('User created'); again() })),
    table('users', ['Name', 'ARN', 'Created', ''], list.map((u) => h('tr', { 'data-user': u.UserName },
      h('td', h('a', { href: `#/iam/user/${encodeURIComponent(u.UserName)}` }, u.UserName)), h('td.mono', u.Arn), h('td', when(u.CreateDate)),
      h('td.actions', h('button.danger', { type: 'button', onclick: () => drop('DeleteUser', { UserName: u.UserName }, box, again) }, 'Delete'))))))
}

async function drop(action, params, box, again) {
  if (await ask(`${action.replace(/([A-Z])/g, ' $1').trim()} ${Object.values(params)[0]}?`, h('p', 'This cannot be undone.'), [['Delete', 'yes', 'danger']]) !== 'yes') return
  await guard(box, async () => { await iam(action, params); toast('Deleted'); again() })
}

async function user(body, box, name) {
  const again = rerender(body, box, user, name)
  const [keys, attached, inline, groupsOf, all] = await Promise.all([
    iam('ListAccessKeys', { UserName: name }), iam('ListAttachedUserPolicies', { UserName: name }),
    iam('ListUserPolicies', { UserName: name }), iam('ListGroupsForUser', { UserName: name }), iam('ListPolicies')])
  const policyArns = members(all, 'Arn')
  const newKey = h('div#new-key')
  body.replaceChildren(h('h2', `User ${name}`),
    h('h3', 'Access keys'), newKey,
    h('button.primary#create-key', { type: 'button', onclick: () => guard(box, async () => {
      const k = await iam('CreateAccessKey', { UserName: name })
      const id = k.getElementsByTagName('AccessKeyId')[0].textContent
      const secret = k.getElementsByTagName('SecretAccessKey')[0].textContent
      await again()
      body.querySelector('#new-key').replaceChildren(h('p.notice', 'New key ', h('code', id), ', secret ', h('code#new-secret', secret), ' (shown this once).'))
    }) }, 'Create access key'),
    table('keys', ['Access key', 'Status', 'Created', ''], members(keys, 'AccessKeyId').map((k) => h('tr',
      h('td.mono', k.AccessKeyId), h('td', k.Status), h('td', when(k.CreateDate)),
      h('td.actions',
        h('button', { type: 'button', onclick: () => guard(box, async () => {
          await iam('UpdateAccessKey', { UserName: name, AccessKeyId: k.AccessKeyId, Status: k.Status === 'Active' ? 'Inactive' : 'Active' }); again()
        }) }, k.Status === 'Active' ? 'Deactivate' : 'Activate'),
        h('button.danger', { type: 'button', onclick: () => drop('DeleteAccessKey', { AccessKeyId: k.AccessKeyId, UserName: name }, box, again) }, 'Delete'))))),
    h('h3', 'Attached policies'), attachForm(policyArns, (arn) => iam('AttachUserPolicy', { UserName: name, PolicyArn: arn }), box, again),
    table('user-policies', ['Policy', ''], members(attached, 'PolicyArn').map((p) => h('tr', h('td.mono', p.PolicyArn),
      h('td.actions', h('button', { type: 'button', onclick: () => guard(box, async () => { await iam('DetachUserPolicy', { UserName: name, PolicyArn: p.PolicyArn }); again() }) }, 'Detach'))))),
    h('h3', 'Inline policies'), h('p', [...inline.getElementsByTagName('member')].map((m) => m.textContent).join(', ') || 'None'),
    h('h3', 'Groups'), h('p', members(groupsOf, 'GroupName').map((g) => g.GroupName).join(', ') || 'None'))
}

function attachForm(arns, attach, box, again) {
  if (!arns.length) return h('p.hint', 'No policies to attach yet: create one under Policies.')
  const select = h('select', { 'aria-label': 'Policy' }, arns.map((p) => h('option', { value: p.Arn }, p.PolicyName || p.Arn)))
  return h('form.inline', { onsubmit: (e) => { e.preventDefault(); guard(box, async () => { await attach(select.value); toast('Attached'); again() }) } },
    select, h('button', 'Attach'))
}

async function groups(body, box) {
  const list = members(await iam('ListGroups'), 'GroupName')
  const again = rerender(body, box, groups)
  body.replaceChildren(h('h2', 'Groups'),
    createForm('Create group', [['GroupName', 'Group name']], (v) => guard(box, async () => { await iam('CreateGroup', v); toast('Group created'); again() })),
    table('groups', ['Name', 'ARN', ''], list.map((g) => h('tr',
      h('td', h('a', { href: `#/iam/group/${encodeURIComponent(g.GroupName)}` }, g.GroupName)), h('td.mono', g.Arn),
      h('td.actions', h('button.danger', { type: 'button', onclick: () => drop('DeleteGroup', { GroupName: g.GroupName }, box, again) }, 'Delete'))))))
}

async function group(body, box, name) {
  const again = rerender(body, box, group, name)
  const [got, attached, all, everyone] = await Promise.all([iam('GetGroup', { GroupName: name }),
    iam('ListAttachedGroupPolicies', { GroupName: name }), iam('ListPolicies'), iam('ListUsers')])
  const inGroup = members(got, 'UserName')
  const pick = h('select', { 'aria-label': 'User' }, members(everyone, 'UserName').map((u) => h('option', u.UserName)))
  body.replaceChildren(h('h2', `Group ${name}`),
    h('h3', 'Members'),
    h('form.inline', { onsubmit: (e) => { e.preventDefault(); guard(box, async () => { await iam('AddUserToGroup', { GroupName: name, UserName: pick.value }); again() }) } }, pick, h('button', 'Add')),
    table('members', ['User', ''], inGroup.map((u) => h('tr', h('td', u.UserName),
      h('td.actions', h('button', { type: 'button', onclick: () => guard(box, async () => { await iam('RemoveUserFromGroup', { GroupName: name, UserName: u.UserName }); again() }) }, 'Remove'))))),
    h('h3', 'Attached policies'), attachForm(members(all, 'Arn'), (arn) => iam('AttachGroupPolicy', { GroupName: name, PolicyArn: arn }), box, again),
    table('group-policies', ['Policy', ''], members(attached, 'PolicyArn').map((p) => h('tr', h('td.mono', p.PolicyArn),
      h('td.actions', h('button', { type: 'button', onclick: () => guard(box, async () => { await iam('DetachGroupPolicy', { GroupName: name, PolicyArn: p.PolicyArn }); again() }) }, 'Detach'))))))
}

async function policies(body, box) {
  const list = members(await iam('ListPolicies', { Scope: 'Local' }), 'Arn')
  const again = rerender(body, box, policies)
  const doc = h('pre#policy-document')
  body.replaceChildren(h('h2', 'Policies'),
    createForm('Create policy', [['PolicyName', 'Policy name'], ['PolicyDocument', 'Policy document (JSON)', 'textarea']],
      (v) => guard(box, async () => { await iam('CreatePolicy', v); toast('Policy created'); again() })),
    table('policies', ['Name', 'ARN', 'Attachments', ''], list.map((p) => h('tr', { 'data-policy': p.PolicyName },
      h('td', h('button.link', { type: 'button', onclick: () => show(p, doc, box) }, p.PolicyName)), h('td.mono', p.Arn), h('td', p.AttachmentCount),
      h('td.actions', h('button.danger', { type: 'button', onclick: () => drop('DeletePolicy', { PolicyArn: p.Arn }, box, again) }, 'Delete'))))),
    doc)
}

async function show(p, out, box) {
  await guard(box, async () => {
    const v = await iam('GetPolicyVersion', { PolicyArn: p.Arn, VersionId: p.DefaultVersionId })
    const text = decodeURIComponent(v.getElementsByTagName('Document')[0].textContent)
    out.textContent = JSON.stringify(JSON.parse(text), null, 2)
  })
}
