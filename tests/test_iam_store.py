"""The identity store of the metadata daemon: revision-checked commits, all or nothing, durable;
and secrets that are never stored in clear."""
from __future__ import annotations

import asyncio

import pytest

from s3front.iam_api.store import IdentityClient
from shared.contract.iam import ACCESS_KEY, USER, IAMChange
from shared.errors import S3Error
from tests.rpc_helpers import connect, metadata_only
from tests.test_iam_api import iam_client


def test_commits_check_revisions_and_apply_all_or_nothing(tmp_path):
    c = metadata_only(tmp_path)

    async def run() -> None:
        md = await connect(c)
        store = IdentityClient(md)
        await store.iam_commit("111111111111", [IAMChange(USER, "ann", {"path": "/"}, 0),
                                                IAMChange(ACCESS_KEY, "AKIAANN", {"user": "ann"}, 0)])
        ann = await store.iam_get("111111111111", USER, "ann")
        assert (ann.doc, ann.rev) == ({"path": "/"}, 1)
        assert (await store.iam_get("", ACCESS_KEY, "AKIAANN")).doc == {"user": "ann"}   # keys: by key alone
        assert await store.iam_get("222222222222", USER, "ann") is None                  # per account
        with pytest.raises(S3Error) as stale:        # a second writer planned from revision 0 as well
            await store.iam_commit("111111111111", [IAMChange(USER, "bob", {"path": "/"}, 0),
                                                    IAMChange(USER, "ann", {"path": "/x/"}, 0)])
        assert stale.value.code == "ConcurrentModification"
        assert await store.iam_get("111111111111", USER, "bob") is None                  # nothing applied
        await store.iam_commit("111111111111", [IAMChange(USER, "ann", {"path": "/x/"}, 1)])
        assert [(r.name, r.rev) for r in await store.iam_list("111111111111", USER)] == [("ann", 2)]
        await store.iam_commit("111111111111", [IAMChange(USER, "ann", None, 2)])
        assert await store.iam_list("111111111111", USER) == []
        await md.close()
    try:
        asyncio.run(run())
    finally:
        c.stop()


@pytest.mark.needs_disk
def test_secret_keys_are_sealed_at_rest_and_survive_a_restart(fresh_cluster):
    c = fresh_cluster()
    iam = iam_client(c)
    iam.create_user(UserName="sealed")
    key = iam.create_access_key(UserName="sealed")["AccessKey"]
    c.stop()
    stored = b"".join(p.read_bytes() for p in (c.root / "metadata").rglob("*") if p.is_file())
    assert key["AccessKeyId"].encode() in stored and key["SecretAccessKey"].encode() not in stored
    c.start()
    iam.put_user_policy(UserName="sealed", PolicyName="p", PolicyDocument='{"Version": "2012-10-17", "Statement": '
                        '[{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}')
    assert "Buckets" in c.client(key["AccessKeyId"], key["SecretAccessKey"]).list_buckets()
