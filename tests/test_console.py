"""The web console in headless Chromium: log in, create a bucket, upload (one file multipart, with its
progress bar), browse a prefix, download, share, delete, restore an older version, and see the S3
error when the keys are wrong or the user may not list the bucket. Each test saves a screenshot."""
from __future__ import annotations

import hashlib
import json
import os
import re
import time

import boto3
import httpx
import pytest

from tests.browser import (INSECURE_HOST, PHONE, browser, expect, local, login, page, refused_until_allowed,  # noqa: F401
                           row, shot, wait_listed)
from tests.cluster import ACCESS_KEY, SECRET_KEY
from tests.expect import s3_error, s3_error_message
from tests.test_iam_api import iam_client, name

MIB = 1024 * 1024
BIG = 17 * MIB + 12345          # over the console's 16 MiB threshold: a multipart upload of three 8 MiB parts


def test_upload_three_files_and_browse_a_prefix(page, cluster, s3, tmp_path):
    bucket = f"console-{os.getpid()}"
    login(page, cluster.endpoint)
    shot(page, tmp_path, "buckets", docs=True)
    page.click("#new-bucket")
    page.fill("#bucket-name", bucket)
    page.click(".modal button.primary")
    page.click(f"tr[data-bucket='{bucket}'] a")
    wait_listed(page)
    small, big, note = os.urandom(1000), os.urandom(BIG), b"a note\n"
    # The multipart file's progress bar: every value it shows, from the DOM.
    page.evaluate("""() => { window.seen = []; new MutationObserver(() => {
        const bar = document.querySelector("li.upload[data-key='big.bin'] progress");
        if (bar) window.seen.push([bar.value, bar.max]) })
        .observe(document.body, {subtree: true, attributes: true, childList: true}) }""")
    page.set_input_files("#file-input", [local(tmp_path, "small.bin", small), local(tmp_path, "big.bin", big)])
    page.wait_for_selector("li.upload[data-key='big.bin'].done", timeout=120_000)
    page.wait_for_selector("li.upload[data-key='small.bin'].done")
    seen = page.evaluate("window.seen")
    assert any(0 < v < m for v, m in seen), f"the progress bar never showed partial progress: {seen[:5]}"
    shot(page, tmp_path, "upload")
    page.click("#new-folder")
    page.fill("#folder-name", "docs")
    page.click(".modal button.primary")
    page.wait_for_selector("nav.crumbs a:text('docs')")
    page.set_input_files("#file-input", [local(tmp_path, "note.txt", note)])
    row(page, "docs/note.txt").wait_for()
    page.click(f"nav.crumbs a:text('{bucket}')")
    row(page, "big.bin").wait_for()
    assert row(page, "small.bin").is_visible() and row(page, "docs/").is_visible()
    shot(page, tmp_path, "objects", docs=True)
    page.click("#objects tr[data-key='docs/'] a")
    row(page, "docs/note.txt").wait_for()
    assert page.locator("#objects tbody tr").count() == 1
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == big
    assert s3.head_object(Bucket=bucket, Key="big.bin")["ETag"].endswith('-3"')     # 8 + 8 + 1 MiB parts
    assert s3.get_object(Bucket=bucket, Key="small.bin")["Body"].read() == small
    assert s3.get_object(Bucket=bucket, Key="docs/note.txt")["ContentType"] == "text/plain"
    for key in ("big.bin", "small.bin", "docs/note.txt"):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


def test_cancel_a_multipart_upload(page, cluster, s3, bucket, tmp_path):
    login(page, cluster.endpoint)
    page.click(f"tr[data-bucket='{bucket}'] a")
    wait_listed(page)
    # Chromium's network throttling (through CDP) slows the upload down enough to cancel it midway.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": 4 * MIB})
    page.set_input_files("#file-input", [local(tmp_path, "huge.bin", os.urandom(BIG))])
    item = page.locator("li.upload[data-key='huge.bin']")
    expect(item.locator(".state")).to_have_text(re.compile(r"^[1-9]\d? %$"))
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    shot(page, tmp_path, "progress", docs=True)
    item.locator("button:text('Cancel')").click()
    expect(item).to_have_class(re.compile("cancelled"))
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")     # aborted, parts and all
    assert s3_error(s3.head_object, Bucket=bucket, Key="huge.bin")[0] == 404
    shot(page, tmp_path, "cancelled")
    page.click("#clear-uploads")
    expect(item).to_have_count(0)


def test_download_share_and_delete(page, cluster, s3, bucket, tmp_path):
    data = os.urandom(5000)
    s3.put_object(Bucket=bucket, Key="report.pdf", Body=data)
    s3.put_object(Bucket=bucket, Key="other.txt", Body=b"other")
    login(page, cluster.endpoint)
    page.click(f"tr[data-bucket='{bucket}'] a")
    row(page, "report.pdf").wait_for()
    with page.expect_download() as info:
        row(page, "report.pdf").locator("button.dl").click()
    download = info.value
    assert download.suggested_filename == "report.pdf"
    assert hashlib.sha256(open(download.path(), "rb").read()).digest() == hashlib.sha256(data).digest()
    row(page, "report.pdf").locator("button.share").click()
    page.select_option("#share-expiry", "3600")
    page.click("#share-make")
    expect(page.locator("#share-url")).to_have_value(re.compile("^http"))
    link = page.input_value("#share-url")
    assert "X-Amz-Expires=3600" in link
    shot(page, tmp_path, "share", docs=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=cluster.endpoint)
    page.click("#share-copy")
    page.wait_for_selector("#toast:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == link
    fetched = httpx.get(link)
    assert fetched.status_code == 200 and fetched.content == data
    page.click(".modal button:text('Close')")
    # Drag and drop: a drop event carrying a file, as the browser makes one.
    page.evaluate("""() => { const dt = new DataTransfer()
        dt.items.add(new File(['dropped in'], 'dropped.txt', {type: 'text/plain'}))
        const drop = new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})
        document.querySelector('.drop').dispatchEvent(drop) }""")
    row(page, "dropped.txt").wait_for()
    assert s3.get_object(Bucket=bucket, Key="dropped.txt")["Body"].read() == b"dropped in"
    row(page, "other.txt").locator("button.del").click()
    page.click(".modal button:text('Delete')")
    row(page, "other.txt").wait_for(state="detached")
    assert s3_error(s3.head_object, Bucket=bucket, Key="other.txt")[0] == 404
    assert row(page, "report.pdf").is_visible()


def test_restore_an_older_version(page, cluster, s3, bucket, tmp_path):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"first draft")["VersionId"]
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"second draft")
    login(page, cluster.endpoint)
    page.click(f"tr[data-bucket='{bucket}'] a")
    row(page, "doc.txt").wait_for()
    page.check("#show-versions")
    older = page.locator(f"#objects tr[data-version='{old}']")
    older.wait_for()
    shot(page, tmp_path, "versions", docs=True)
    older.locator("button.restore").click()
    page.wait_for_selector("#toast:has-text('Restored')")
    assert s3.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"first draft"
    versions = s3.list_object_versions(Bucket=bucket, Prefix="doc.txt")["Versions"]
    assert len(versions) == 3       # the restore is a new version; the history is kept
    expect(page.locator("#objects tr[data-version]")).to_have_count(3)
    # Deleting the key in a versioned bucket offers a delete marker or every version.
    page.uncheck("#show-versions")
    expect(row(page, "doc.txt")).to_have_count(1)
    row(page, "doc.txt").locator("button.del").click()
    page.click(".modal button:text('Add a delete marker')")
    row(page, "doc.txt").wait_for(state="detached")
    listed = s3.list_object_versions(Bucket=bucket, Prefix="doc.txt")
    assert len(listed["Versions"]) == 3 and len(listed["DeleteMarkers"]) == 1


def test_a_wrong_secret_shows_the_s3_error(page, cluster, tmp_path):
    expected = s3_error_message(cluster.client(secret_key="not-the-secret").list_buckets)
    login(page, cluster.endpoint, secret_key="not-the-secret", wait=False)
    error = page.locator(".login .error")
    error.wait_for()
    assert expected in error.inner_text() and "SignatureDoesNotMatch" in error.inner_text()
    assert page.locator("#buckets").count() == 0
    shot(page, tmp_path, "login-error", docs=True)


def test_temporary_credentials_log_in(page, cluster, s3, bucket):
    sts = boto3.client("sts", endpoint_url=cluster.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                       aws_secret_access_key=SECRET_KEY)
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    page.goto(cluster.endpoint + "/_/console/")
    page.fill("#accessKeyId", creds["AccessKeyId"])
    page.fill("#secretAccessKey", creds["SecretAccessKey"])
    page.fill("#sessionToken", creds["SessionToken"])
    page.click("#login")
    page.locator(f"tr[data-bucket='{bucket}']").wait_for()
    kept = page.evaluate("JSON.parse(sessionStorage.getItem('coffer.credentials'))")
    assert kept["sessionToken"] == creds["SessionToken"]
    page.click("#logout")
    page.locator("#login").wait_for()
    assert page.evaluate("sessionStorage.getItem('coffer.credentials')") is None


def test_a_user_without_list_bucket_sees_the_refusal(page, cluster, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"x")
    iam = iam_client(cluster)
    user = name("console")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="no-list", PolicyDocument=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetObject"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    client = cluster.client(key["AccessKeyId"], key["SecretAccessKey"])
    expected = s3_error_message(client.list_objects_v2, Bucket=bucket)
    login(page, cluster.endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    assert page.locator("header a:text('Identity')").count() == 0      # not an account root
    page.click(f"tr[data-bucket='{bucket}'] a")
    error = page.locator("section.page > .error")
    error.wait_for()
    assert expected in error.inner_text() and "AccessDenied" in error.inner_text()
    assert page.locator("td.empty").count() == 0        # a refusal, not an empty folder
    shot(page, tmp_path, "refused", docs=True)


def test_object_details_and_bucket_settings(page, cluster, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="photos/cat.jpg", Body=b"meow", ContentType="image/jpeg",
                  Metadata={"camera": "pinhole"}, Tagging="animal=cat", ChecksumAlgorithm="SHA256")
    login(page, cluster.endpoint)
    page.goto(cluster.endpoint + f"/_/console/#/o/{bucket}/photos/cat.jpg")
    page.wait_for_selector("#props dd:text('image/jpeg')")
    expect(page.locator("#tags")).to_have_value("animal=cat")
    assert "pinhole" in page.inner_text("#metadata")
    checksum = s3.head_object(Bucket=bucket, Key="photos/cat.jpg", ChecksumMode="ENABLED")["ChecksumSHA256"]
    assert checksum in page.inner_text("#props")
    page.fill("#tags", "animal=cat\nmood=sleepy")
    page.click("#save-tags")
    page.wait_for_selector("#toast:has-text('Tags saved')")
    tags = s3.get_object_tagging(Bucket=bucket, Key="photos/cat.jpg")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("animal", "cat"), ("mood", "sleepy")]
    shot(page, tmp_path, "details", docs=True)
    anonymous = cluster.endpoint + f"/{bucket}/photos/cat.jpg"
    assert httpx.get(anonymous).status_code == 403
    page.goto(cluster.endpoint + f"/_/console/#/s/{bucket}")
    page.wait_for_selector("#versioning-status:text('Never enabled')")
    page.select_option("#anonymous", "download")
    page.click("#anonymous-save")
    page.wait_for_selector("#toast:has-text('Anonymous access saved')")
    assert httpx.get(anonymous).content == b"meow"
    page.fill("#tagging-text", "team=web")
    page.click("#tagging-save")
    page.wait_for_selector("#toast:has-text('Tagging saved')")
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "web"}]
    cors = ("<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>"
            "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
    page.fill("#cors-text", cors)
    page.click("#cors-save")
    page.wait_for_selector("#toast:has-text('CORS saved')")
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://app.example"] and rules[0]["AllowedMethods"] == ["GET"]
    page.click("#versioning-enable")
    page.wait_for_selector("#versioning-status:text('Enabled')")
    shot(page, tmp_path, "settings", docs=True)
    page.select_option("#anonymous", "none")
    page.click("#anonymous-save")
    page.wait_for_selector("#toast:has-text('Anonymous access saved')")
    assert httpx.get(anonymous).status_code == 403


def test_phone_width(page, cluster, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="a-rather-long-name-for-a-small-phone-screen.txt", Body=b"x")
    page.set_viewport_size(PHONE)
    login(page, cluster.endpoint)
    page.click(f"tr[data-bucket='{bucket}'] a")
    row(page, "a-rather-long-name-for-a-small-phone-screen.txt").wait_for()
    assert overflow(page) <= 0, f"the objects page is {overflow(page)} px wider than the phone"
    shot(page, tmp_path, "phone", docs=True)
    page.click("#objects td.name a")
    page.locator("#props dd").first.wait_for()
    assert overflow(page) <= 0, f"the details page is {overflow(page)} px wider than the phone"
    page.goto(cluster.endpoint + f"/_/console/#/s/{bucket}")
    expect(page.locator("#versioning-status")).not_to_have_text("…")
    assert overflow(page) <= 0, f"the settings page is {overflow(page)} px wider than the phone"
    shot(page, tmp_path, "phone-settings")


def overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_paging_a_large_bucket(page, cluster, s3, bucket, tmp_path):
    """Also the figure of the closing note: login to a listed bucket (COFFER_CONSOLE_OBJECTS=10000)."""
    count = int(os.environ.get("COFFER_CONSOLE_OBJECTS", "1001"))
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"obj-{i:06d}", Body=b""), range(count)))
    page.goto(cluster.endpoint + "/_/console/")
    page.fill("#accessKeyId", "accessKey1")
    page.fill("#secretAccessKey", "verySecretKey1")
    started = time.perf_counter()
    page.click("#login")
    page.click(f"tr[data-bucket='{bucket}'] a")
    expect(page.locator("#objects tbody tr[data-key]")).to_have_count(1000)
    print(f"\nconsole: login to a listed bucket of {count} objects: {time.perf_counter() - started:.2f} s")
    page.click("#next")
    row(page, "obj-001000").wait_for()
    assert page.locator("#objects tbody tr[data-key]").count() == min(1000, count - 1000)
    page.click("#prev")
    row(page, "obj-000000").wait_for()
    page.fill("#search", "obj-00001")
    expect(page.locator("#objects tbody tr[data-key]")).to_have_count(10)
    page.click("#objects th[data-col='name']")       # sort descending within the page
    assert page.locator("#objects tbody tr").first.get_attribute("data-key") == "obj-000019"
    page.click("header a:text('Buckets')")
    page.locator(f"tr[data-bucket='{bucket}'] td.usage button").click()
    expect(page.locator(f"tr[data-bucket='{bucket}'] td.usage")).to_have_text(f"{count} objects, 0 B")
    keys = [f"obj-{i:06d}" for i in range(count)]
    for i in range(0, count, 1000):     # quicker than the fixture's one DELETE per object
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})


def test_object_lock_bucket_and_lock_state(page, cluster, s3, tmp_path):
    bucket = f"console-lock-{os.getpid()}"
    login(page, cluster.endpoint)
    page.click("#new-bucket")
    page.fill("#bucket-name", bucket)
    page.check("#bucket-lock")
    page.click(".modal button.primary")
    page.locator(f"tr[data-bucket='{bucket}']").wait_for()
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    version = s3.put_object(Bucket=bucket, Key="held.txt", Body=b"evidence", ObjectLockLegalHoldStatus="ON",
                            ChecksumAlgorithm="CRC32")["VersionId"]
    try:
        page.goto(cluster.endpoint + f"/_/console/#/o/{bucket}/held.txt")
        expect(page.locator("#props")).to_contain_text("Legal hold")
        expect(page.locator("#versions")).to_contain_text(version)
        assert "ON" in page.inner_text("#props")
        page.goto(cluster.endpoint + f"/_/console/#/s/{bucket}")
        expect(page.locator("#lock-config")).to_contain_text("Enabled")
        shot(page, tmp_path, "lock")
    finally:
        s3.put_object_legal_hold(Bucket=bucket, Key="held.txt", LegalHold={"Status": "OFF"}, ChecksumAlgorithm="CRC32")
        s3.delete_object(Bucket=bucket, Key="held.txt", VersionId=version)
        s3.delete_bucket(Bucket=bucket)


def test_plain_http_away_from_localhost(page, cluster, s3, bucket, tmp_path):
    """Without a secure context the browser has no crypto.subtle: the console signs with @noble/hashes."""
    s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"over plain http")
    endpoint = cluster.endpoint.replace("127.0.0.1", INSECURE_HOST)
    login(page, endpoint)
    assert page.evaluate("[window.isSecureContext, typeof crypto.subtle.importKey]") == [False, "function"]
    page.click(f"tr[data-bucket='{bucket}'] a")
    row(page, "plain.txt").wait_for()
    page.set_input_files("#file-input", [local(tmp_path, "up.txt", b"uploaded")])
    row(page, "up.txt").wait_for()
    assert s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"
    with page.expect_download() as info:
        row(page, "plain.txt").locator("button.dl").click()
    assert open(info.value.path(), "rb").read() == b"over plain http"


def test_keys_with_characters_urls_escape(page, cluster, s3, bucket):
    """Spaces, +, &, %, quotes, parentheses and non-ASCII: signed, listed, opened and downloaded alike."""
    keys = {"sp ace+plus&amp%pct.txt": b"one", "quote'(paren)*star!~.txt": b"two", "ünï cødé/é.txt": b"three"}
    for key, body in keys.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"k": "v"})
    login(page, cluster.endpoint)
    page.click(f"tr[data-bucket='{bucket}'] a")
    for key in ("sp ace+plus&amp%pct.txt", "quote'(paren)*star!~.txt"):
        target = page.locator("#objects tr[data-key]").filter(has_text=key)
        with page.expect_download() as info:
            target.locator("button.dl").click()
        assert open(info.value.path(), "rb").read() == keys[key]
    page.locator("#objects tr.folder a").click()
    target = page.locator("#objects tr[data-key]").filter(has_text="é.txt")
    target.wait_for()
    with page.expect_download() as info:
        target.locator("button.dl").click()
    assert open(info.value.path(), "rb").read() == b"three"
    target.locator("td.name a").click()
    expect(page.locator("#props")).to_contain_text("5 B")
    expect(page.locator("#metadata")).to_contain_text("v")
    page.goto(cluster.endpoint + f"/_/console/#/b/{bucket}/")
    page.fill("#search", "sp ace+")
    expect(page.locator("#objects tbody tr[data-key]")).to_have_count(1)
