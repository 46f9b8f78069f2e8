"""SSE keys (s3front/sse/keys.py), the built-in key service (kms.py) and per-piece data keys (service.py)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import stat

import pytest

from s3front.sse import envelope, keys, kms
from s3front.sse.headers import AES256, KMS, SSE_C, CustomerKey, ObjectSse, WriteSse
from s3front.sse.service import Encryption
from shared.errors import InternalError, S3Error

# The keys ceph's CI declares for s3-tests (testkey-1, testkey-2).
TESTKEY_1 = "YmluCmJvb3N0CmJvb3N0LWJ1aWxkCmNlcGguY29uZgo="
TESTKEY_2 = "aWIKTWFrZWZpbGUKbWFuCm91dApzcmMKVGVzdGluZwo="


def run(coro):  # noqa: ANN001, ANN201 - a test helper
    return asyncio.run(coro)


@pytest.fixture
def master() -> keys.MasterKey:
    return keys.MasterKey(os.urandom(32))


async def _kms(master: keys.MasterKey, store: kms.MemoryKeyStore | None = None,
               declared: str = f"testkey-1:{TESTKEY_1},testkey-2:{TESTKEY_2}") -> kms.BuiltinKms:
    service = kms.BuiltinKms(master, store or kms.MemoryKeyStore(), "us-east-1", "123456789012")
    await service.start(kms.parse_declared_keys(declared))
    return service


# -- master key -----------------------------------------------------------------------------------

def test_master_key_from_the_environment_and_never_shown() -> None:
    secret = os.urandom(32)
    text = base64.b64encode(secret).decode()
    master = keys.load_master_key({keys.MASTER_KEY_ENV: text})
    assert master is not None
    assert text not in repr(master) and text not in str(master) and secret.hex() not in repr(master)
    assert master.derive("sse-s3") == keys.derive_key(secret, "sse-s3")
    assert master.derive("sse-s3") != master.derive("kms-keys")
    assert keys.load_master_key({}) is None


def test_master_key_file_is_generated_private_and_loaded(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "master.key"
    keys.generate_master_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text())) == 32
    with pytest.raises(FileExistsError):                 # never overwrites a key
        keys.generate_master_key_file(path)
    first = keys.load_master_key({keys.MASTER_KEY_FILE_ENV: str(path)})
    again = keys.load_master_key({keys.MASTER_KEY_FILE_ENV: str(path)})
    assert first is not None and again is not None and first.derive("x") == again.derive("x")


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_a_bad_master_key_is_refused_without_echoing_it(value: str) -> None:
    env = {keys.MASTER_KEY_ENV: value or " "}
    with pytest.raises(ValueError) as caught:
        keys.load_master_key(env)
    assert keys.MASTER_KEY_ENV in str(caught.value)
    if value:
        assert value not in str(caught.value)


# -- sealed keys ----------------------------------------------------------------------------------

def test_a_sealed_key_opens_only_with_its_kek_and_context() -> None:
    kek, data_key = os.urandom(32), os.urandom(32)
    context = {"bucket": "b", "key": "k", "alg": "AES256"}
    sealed = keys.seal_key(kek, data_key, context)
    assert data_key not in sealed
    assert keys.unseal_key(kek, sealed, dict(reversed(list(context.items())))) == data_key   # order-free
    with pytest.raises(keys.KeyUnsealError):
        keys.unseal_key(os.urandom(32), sealed, context)
    with pytest.raises(keys.KeyUnsealError):
        keys.unseal_key(kek, sealed, {**context, "key": "other"})
    tampered = bytearray(sealed)
    tampered[20] ^= 1
    with pytest.raises(keys.KeyUnsealError):
        keys.unseal_key(kek, bytes(tampered), context)
    with pytest.raises(keys.KeyUnsealError):
        keys.unseal_key(kek, b"\x02" + sealed[1:], context)
    assert isinstance(keys.KeyUnsealError("x"), InternalError)


def test_customer_fingerprint_recognises_only_its_key() -> None:
    key = os.urandom(32)
    first, second = keys.customer_fingerprint(key), keys.customer_fingerprint(key)
    assert first != second                               # salted
    assert keys.customer_matches(key, first) and keys.customer_matches(key, second)
    assert not keys.customer_matches(os.urandom(32), first)
    assert not keys.customer_matches(key, {"salt": first["salt"]})
    assert base64.b64encode(key).decode() not in str(first)
    assert base64.b64encode(hashlib.md5(key).digest()).decode() not in str(first)


# -- COFFER_KMS_KEYS ------------------------------------------------------------------------------

def test_declared_keys_parse() -> None:
    declared = kms.parse_declared_keys(f" testkey-1:{TESTKEY_1} , testkey-2:{TESTKEY_2},")
    assert sorted(declared) == ["testkey-1", "testkey-2"]
    assert declared["testkey-1"] == base64.b64decode(TESTKEY_1)
    assert kms.parse_declared_keys("") == {}


@pytest.mark.parametrize("text", ["testkey-1", f":{TESTKEY_1}", f"bad name:{TESTKEY_1}",
                                  "k:c2hvcnQ=", f"k:{TESTKEY_1},k:{TESTKEY_2}", "k:%%%"])
def test_bad_declared_keys_are_refused_without_their_material(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        kms.parse_declared_keys(text)
    assert TESTKEY_1 not in str(caught.value) and TESTKEY_2 not in str(caught.value)


# -- the built-in key service ---------------------------------------------------------------------

def test_declared_keys_are_listed_and_described(master: keys.MasterKey) -> None:
    service = run(_kms(master))
    listed = run(service.list_keys())
    assert [k.key_id for k in listed] == ["testkey-1", "testkey-2"]
    info = run(service.describe_key("testkey-1"))
    assert info.enabled and info.arn == "arn:aws:kms:us-east-1:123456789012:key/testkey-1"
    for name in ["alias/testkey-1", info.arn, "arn:aws:kms:us-east-1:123456789012:alias/testkey-1"]:
        assert run(service.describe_key(name)).key_id == "testkey-1"


def test_unknown_keys_are_kms_not_found(master: keys.MasterKey) -> None:
    service = run(_kms(master))
    for name, message in [("testkey-not-present", "Invalid keyId 'testkey-not-present'"),
                          ("arn:aws:kms:us-west-2:123456789012:key/testkey-1", "Invalid arn us-west-2")]:
        with pytest.raises(S3Error) as caught:
            run(service.describe_key(name))
        assert (caught.value.code, caught.value.status, caught.value.message) == ("KMS.NotFoundException", 400, message)


def test_data_keys_round_trip_with_their_context(master: keys.MasterKey) -> None:
    service = run(_kms(master))
    context = {"aws:s3:arn": "arn:aws:s3:::b/k"}
    plaintext, sealed = run(service.generate_data_key("testkey-1", context))
    assert len(plaintext) == 32 and plaintext not in sealed
    assert run(service.decrypt(sealed, "testkey-1", context)) == plaintext
    with pytest.raises(keys.KeyUnsealError):
        run(service.decrypt(sealed, "testkey-1", {"aws:s3:arn": "arn:aws:s3:::b/other"}))
    with pytest.raises(keys.KeyUnsealError):
        run(service.decrypt(sealed, "testkey-2", context))


def test_create_disable_enable(master: keys.MasterKey) -> None:
    service = run(_kms(master))
    created = run(service.create_key("mine", "for tests"))
    assert created.enabled and created.description == "for tests"
    assert "mine" in [k.key_id for k in run(service.list_keys())]
    anonymous = run(service.create_key())
    assert len(anonymous.key_id) == 36                     # a UUID, as AWS names keys
    with pytest.raises(ValueError):
        run(service.create_key("mine"))
    with pytest.raises(ValueError):
        run(service.create_key("alias/mine"))
    plaintext, sealed = run(service.generate_data_key("mine", {}))
    disabled = run(service.disable_key("mine"))
    assert not disabled.enabled and not run(service.describe_key("mine")).enabled
    with pytest.raises(S3Error) as caught:
        run(service.generate_data_key("mine", {}))
    assert caught.value.code == "KMS.DisabledException"
    assert caught.value.message == "arn:aws:kms:us-east-1:123456789012:key/mine is disabled."
    assert run(service.decrypt(sealed, "mine", {})) == plaintext       # a disabled key still decrypts
    run(service.enable_key("mine"))
    assert run(service.generate_data_key("mine", {}))[0]


def test_keys_survive_a_restart_and_another_front_end_sees_them(master: keys.MasterKey) -> None:
    store = kms.MemoryKeyStore()
    first = run(_kms(master, store))
    run(first.create_key("shared"))
    plaintext, sealed = run(first.generate_data_key("shared", {"a": "b"}))
    run(first.disable_key("testkey-2"))
    assert all(keys.encode(plaintext) not in str(r) for r in store.records.values())
    second = run(_kms(master, store))
    assert run(second.decrypt(sealed, "shared", {"a": "b"})) == plaintext
    assert not run(second.describe_key("testkey-2")).enabled
    third = kms.BuiltinKms(master, store, "us-east-1", "123456789012")   # not started: finds keys on a miss
    assert run(third.decrypt(sealed, "shared", {"a": "b"})) == plaintext


def test_unknown_ids_do_not_reload_the_store_on_every_request(master: keys.MasterKey) -> None:
    store = kms.MemoryKeyStore()
    service = run(_kms(master, store))
    loads = 0
    original = store.load

    async def counted() -> dict:
        nonlocal loads
        loads += 1
        return await original()
    store.load = counted  # type: ignore[method-assign]
    for _ in range(50):
        with pytest.raises(S3Error):
            run(service.describe_key("bogus"))
    assert loads <= 1


def test_a_declared_key_that_differs_from_the_stored_one_stops_the_start(master: keys.MasterKey) -> None:
    store = kms.MemoryKeyStore()
    run(_kms(master, store))
    with pytest.raises(ValueError) as caught:
        run(_kms(master, store, f"testkey-1:{TESTKEY_2}"))
    assert "testkey-1" in str(caught.value) and TESTKEY_2 not in str(caught.value)


def test_another_master_key_cannot_open_the_store(master: keys.MasterKey) -> None:
    store = kms.MemoryKeyStore()
    run(_kms(master, store))
    with pytest.raises(keys.KeyUnsealError):
        run(_kms(keys.MasterKey(os.urandom(32)), store, ""))


def test_the_default_key_is_made_once_and_alike_everywhere(master: keys.MasterKey) -> None:
    one, two = run(_kms(master, declared="")), run(_kms(master, declared=""))
    plaintext, sealed = run(one.generate_data_key(kms.DEFAULT_KEY_ID, {}))
    assert run(two.decrypt(sealed, kms.DEFAULT_KEY_ID, {})) == plaintext     # separate stores, same key
    assert run(one.describe_key("alias/aws/s3")).key_id == kms.DEFAULT_KEY_ID
    with pytest.raises(ValueError):
        run(one.create_key(kms.DEFAULT_KEY_ID))


# -- per-piece data keys --------------------------------------------------------------------------

def _customer(key: bytes) -> CustomerKey:
    return CustomerKey(key, base64.b64encode(hashlib.md5(key).digest()).decode())


@pytest.mark.parametrize("mode", [AES256, KMS, SSE_C])
def test_pieces_round_trip_in_every_mode(master: keys.MasterKey, mode: str) -> None:
    service = Encryption(master, run(_kms(master)))
    customer = _customer(os.urandom(32)) if mode == SSE_C else None
    sse = WriteSse(mode, "testkey-1" if mode == KMS else None, {"team": "a"} if mode == KMS else None,
                   customer=customer)
    obj = run(service.begin(sse, "bucket", "key"))
    stored = ObjectSse.from_dict(obj.to_dict())
    assert stored == obj
    data_key, piece = run(service.new_piece(obj, "bucket", "key", part=3, customer=customer))
    assert piece["env"]["part"] == 3
    sealed = envelope.seal_bytes(b"secret bytes", data_key, piece["env"])
    opened, params = run(service.open_piece(stored, piece, "bucket", "key", customer))
    assert opened == data_key and envelope.open_bytes(sealed, opened, params, 12) == b"secret bytes"
    with pytest.raises((InternalError, S3Error)):
        run(service.open_piece(stored, piece, "bucket", "other-key", customer))
    with pytest.raises((InternalError, S3Error)):
        run(service.open_piece(stored, {**piece, "env": {**piece["env"], "part": 4}}, "bucket", "key", customer))


def test_kms_objects_record_the_key_arn_and_context(master: keys.MasterKey) -> None:
    service = Encryption(master, run(_kms(master)))
    obj = run(service.begin(WriteSse(KMS, "testkey-2", {"team": "a"}), "b", "k"))
    assert obj.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/testkey-2"
    assert obj.context == {"team": "a", "aws:s3:arn": "arn:aws:s3:::b/k"}
    with_bucket_key = run(service.begin(WriteSse(KMS, None, None, bucket_key=True), "b", "k"))
    assert with_bucket_key.kms_key_arn.endswith(":key/aws/s3")
    assert with_bucket_key.context == {"aws:s3:arn": "arn:aws:s3:::b"}
    kms_service = run(_kms(master))
    run(kms_service.disable_key("testkey-1"))
    with pytest.raises(S3Error) as caught:
        run(Encryption(master, kms_service).begin(WriteSse(KMS, "testkey-1"), "b", "k"))
    assert caught.value.code == "KMS.DisabledException"


def test_an_sse_c_piece_needs_the_customer_key(master: keys.MasterKey) -> None:
    service = Encryption(None, None)                       # SSE-C needs neither master key nor KMS
    customer = _customer(os.urandom(32))
    obj = run(service.begin(WriteSse(SSE_C, customer=customer), "b", "k"))
    assert obj.fingerprint and keys.customer_matches(customer.key, obj.fingerprint)
    _, piece = run(service.new_piece(obj, "b", "k", customer=customer))
    with pytest.raises(keys.KeyUnsealError):
        run(service.open_piece(obj, piece, "b", "k", _customer(os.urandom(32))))


def test_modes_without_their_keys_are_not_implemented() -> None:
    service = Encryption(None, None)
    for sse in [WriteSse(AES256), WriteSse(KMS, "testkey-1")]:
        with pytest.raises(S3Error) as caught:
            run(service.begin(sse, "b", "k"))
        assert caught.value.code == "NotImplemented" and caught.value.status == 501
    with pytest.raises(InternalError):
        run(service.open_piece(ObjectSse(AES256), {"dk": "", "env": {}}, "b", "k"))
