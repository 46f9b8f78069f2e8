"""The web console's identity pages in headless Chromium, for an account root: a user and its key,
a managed policy made and attached there, a group and its member, each seen through the IAM API."""
from __future__ import annotations

import json

from tests.browser import browser, expect, login, page, refused_until_allowed, shot  # noqa: F401 (fixtures)
from tests.expect import s3_error
from tests.test_iam_api import iam_client, name


def test_iam_users_and_keys_for_the_account_root(page, cluster, tmp_path):
    user = name("webuser")
    login(page, cluster.endpoint)
    page.click("header a:text('Identity')")
    page.wait_for_selector("#users")
    page.fill("#new-UserName", user)
    page.click("form.inline button.primary")
    page.click(f"#users tr[data-user='{user}'] a")
    page.click("#create-key")
    secret = page.locator("#new-secret")
    secret.wait_for()
    keys = iam_client(cluster).list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert len(keys) == 1 and keys[0]["Status"] == "Active"
    created = cluster.client(keys[0]["AccessKeyId"], secret.inner_text())
    assert s3_error(created.list_buckets)[1] == "AccessDenied"     # the key works; the user has no policy
    shot(page, tmp_path, "iam", docs=True)
    # A managed policy made in the console, attached to the user there: the key may list buckets now.
    policy = name("webpolicy")
    page.click("nav.tabs a:text('Policies')")
    page.fill("#new-PolicyName", policy)
    page.fill("#new-PolicyDocument", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))
    page.click("form.inline button.primary")
    page.locator(f"#policies tr[data-policy='{policy}']").wait_for()
    page.goto(cluster.endpoint + f"/_/console/#/iam/user/{user}")
    page.select_option("select[aria-label='Policy']", label=policy)
    page.click("form.inline button:text('Attach')")
    expect(page.locator("#user-policies")).to_contain_text(policy)
    assert refused_until_allowed(created.list_buckets)
    group = name("webgroup")
    page.click("nav.tabs a:text('Groups')")
    page.fill("#new-GroupName", group)
    page.click("form.inline button.primary")
    page.click(f"#groups a:text('{group}')")
    page.select_option("select[aria-label='User']", user)
    page.click("form.inline button:text('Add')")
    expect(page.locator("#members")).to_contain_text(user)
    assert [u["UserName"] for u in iam_client(cluster).get_group(GroupName=group)["Users"]] == [user]
