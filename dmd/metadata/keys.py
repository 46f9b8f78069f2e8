"""Every key the metadata daemon stores, in one place (design.md §2.1).

One ordered key space, split into sub-levels by a `!name!` prefix:

    !__metastore!<bucket>                       bucket attributes
    !users..bucket!<owner>\\0<bucket>            an account's buckets
    !<bucket>!<key>                             an object's master
    !<bucket>!<key>\\0<versionId>                one version of it
    !mpuShadowBucket<bucket>!overview\\0<key>\\0<uploadId>    an open multipart upload
    !mpuShadowBucket<bucket>!part\\0<uploadId>\\0<NNNNN>      one of its parts
    !__gc!<due ms, 13 digits>\\0<data key>       data to delete (a string: the RPC's gcKey)
    !__configs!<bucket>\\0<kind>                a bucket configuration kept apart (policy, tagging...)
    !__sys!<name>                               db_uuid, schema, vid_hwm
    !__leases!<name>                            a cluster-wide lease and its holder's state (lifecycle)
    !__iam!<account>\\0<kind>\\0<name>           an IAM record of an account (user, group, role, policy)
    !__iam!\\0key\\0<access key>                  an IAM access key (any account's: looked up by key)
    !__outbox!<type>:<id>\\0<seq, 20 digits>\\0<boot>   an event record a target has not taken yet
    !__outbox!\\0lease\\0<type>:<id>                which daemon sends that outbox (a shared engine)
    !__notify!<type>:<id>                        a target declared at run time (coffer admin config)
    !__alog!<source>\\0<ms, 13 digits>\\0<boot>\\0<n>   access log records a front-end handed over

The byte layout is the reference's and must never change: existing LevelDB directories must read.
Functions give absolute keys (bytes) unless their docstring says relative: `relative_*` (bytes
inside a sub-level view, as the listings see them), `version_key` and `gc_key` (strings, as the
versioning plans and the RPC name them).
"""
from __future__ import annotations

SEP = b"\x00"                  # between a key and its version id, and between the parts of a compound key
METASTORE_DB = "__metastore"
USERS_DB = "users..bucket"
GC_DB = "__gc"
CONFIGS_DB = "__configs"
SYS_DB = "__sys"
LEASES_DB = "__leases"
IAM_DB = "__iam"
OUTBOX_DB = "__outbox"
NOTIFY_DB = "__notify"
ACCESS_LOG_DB = "__alog"
MPU_DB_PREFIX = "mpuShadowBucket"
OVERVIEW = b"overview" + SEP   # relative, in an MPU sub-level
PART = b"part" + SEP           # relative, in an MPU sub-level


def inc(b: bytes) -> bytes:
    """The smallest byte string above every string that starts with `b`; b"" means no upper bound."""
    # Trailing 0xFF bytes cannot be incremented in place: anything starting with b..FF also starts with b.
    stripped = b.rstrip(b"\xff")
    if not stripped:
        return b""
    return stripped[:-1] + bytes([stripped[-1] + 1])


# -- sub-levels --------------------------------------------------------------------------------

def sublevel_prefix(name: str) -> bytes:
    """The prefix of a named sub-level: `__metastore`, `users..bucket`, a bucket, `mpuShadowBucket<b>`, ..."""
    return b"!" + name.encode() + b"!"


METASTORE = sublevel_prefix(METASTORE_DB)
USERS = sublevel_prefix(USERS_DB)
GC = sublevel_prefix(GC_DB)
CONFIGS = sublevel_prefix(CONFIGS_DB)
SYS = sublevel_prefix(SYS_DB)
LEASES = sublevel_prefix(LEASES_DB)
IAM = sublevel_prefix(IAM_DB)
OUTBOX = sublevel_prefix(OUTBOX_DB)
NOTIFY = sublevel_prefix(NOTIFY_DB)
ACCESS_LOG = sublevel_prefix(ACCESS_LOG_DB)


def bucket_prefix(bucket: str) -> bytes:
    """The sub-level of a bucket's objects (masters and versions)."""
    return sublevel_prefix(bucket)


def mpu_prefix(bucket: str) -> bytes:
    """The sub-level of a bucket's open multipart uploads."""
    return sublevel_prefix(MPU_DB_PREFIX + bucket)


def raw_key(db: str, key: str) -> bytes:
    """A key of a named sub-level, for the raw get/put/del/batch primitives."""
    return sublevel_prefix(db) + key.encode()


# -- buckets -----------------------------------------------------------------------------------

def metastore_key(bucket: str) -> bytes:
    return METASTORE + bucket.encode()


def metastore_bucket(key: bytes) -> str | None:
    """The bucket a metastore key names, or None for any other key."""
    return key[len(METASTORE):].decode() if key.startswith(METASTORE) else None


def users_prefix(owner: str) -> bytes:
    """Where an account's bucket entries start."""
    return USERS + owner.encode() + SEP


def users_key(owner: str, bucket: str) -> bytes:
    return users_prefix(owner) + bucket.encode()


# -- objects -----------------------------------------------------------------------------------

def version_key(key: str, vid: str) -> str:
    """A version's key relative to its bucket (what versioning plans name): `key\\0vid`."""
    return f"{key}\x00{vid}"


def object_key(bucket: str, key: str) -> bytes:
    """A raw key of a bucket sub-level: a master `key` or a version `key\\0vid`."""
    return bucket_prefix(bucket) + key.encode()


def versions_range(bucket: str, key: str) -> tuple[bytes, bytes]:
    """[start, stop) of every version key of `key`, newest first (version ids sort by age, descending)."""
    start = object_key(bucket, key) + SEP
    return start, start[:-1] + b"\x01"


def version_of(bucket: str, key: str, raw: bytes) -> str:
    """The version id in a version key of `key`."""
    return raw[len(object_key(bucket, key)) + 1:].decode()


# -- multipart uploads -------------------------------------------------------------------------

def relative_overview(key: str, upload_id: str) -> bytes:
    """An overview's key relative to the MPU sub-level: `overview\\0<key>\\0<uploadId>`."""
    return OVERVIEW + key.encode() + SEP + upload_id.encode()


def overview_key(bucket: str, key: str, upload_id: str) -> bytes:
    return mpu_prefix(bucket) + relative_overview(key, upload_id)


def relative_parts(upload_id: str) -> bytes:
    """Where an upload's parts start, relative to the MPU sub-level: `part\\0<uploadId>\\0`."""
    return PART + upload_id.encode() + SEP


def part_number(number: int) -> bytes:
    """A part number as it sorts in a part key: five digits."""
    return b"%05d" % number


def parts_prefix(bucket: str, upload_id: str) -> bytes:
    return mpu_prefix(bucket) + relative_parts(upload_id)


def part_key(bucket: str, upload_id: str, number: int) -> bytes:
    return parts_prefix(bucket, upload_id) + part_number(number)


def is_part_key(bucket: str, key: bytes) -> bool:
    """True for a part key of the bucket's MPU sub-level (not an overview)."""
    return key.startswith(mpu_prefix(bucket) + PART)


# -- deferred deletions and system values ------------------------------------------------------

def gc_key(ms: int, data_key: str) -> str:
    """A `__gc` entry's key within its sub-level: due time order, then the data key."""
    return f"{ms:013d}\x00{data_key}"


def gc_entry(gc_key_name: str) -> bytes:
    """The absolute key of a `__gc` entry named as gc_key() names it."""
    return GC + gc_key_name.encode()


def gc_due_before(ms: int) -> bytes:
    """Where the `__gc` entries recorded at or after `ms` start, relative to the sub-level."""
    return f"{ms:013d}".encode()


def access_log_name(source: str, ms: int, boot: str, n: int) -> str:
    """An `__alog` entry's key within its sub-level: its source bucket, then the time it was stored."""
    return f"{source}\x00{ms:013d}\x00{boot}\x00{n}"


def access_log_entry(name: str) -> bytes:
    """The absolute key of an `__alog` entry named as access_log_name() names it."""
    return ACCESS_LOG + name.encode()


def access_log_parts(name: str) -> tuple[str, int]:
    """(source bucket, ms stored) of an `__alog` entry's name."""
    source, ms, _ = name.split("\x00", 2)
    return source, int(ms)


def config_key(bucket: str, kind: str) -> bytes:
    """A bucket configuration kept apart from the bucket's attributes."""
    return CONFIGS + bucket.encode() + SEP + kind.encode()


def lease_key(name: str) -> bytes:
    """A cluster-wide lease (dmd/metadata/leases.py)."""
    return LEASES + name.encode()


def config_kind(key: bytes) -> tuple[str, str]:
    """(bucket, kind) of a `__configs` key."""
    bucket, _, kind = key[len(CONFIGS):].partition(SEP)
    return bucket.decode(), kind.decode()


def sys_key(name: str) -> bytes:
    """A `__sys` scalar: `db_uuid`, `schema`, `vid_hwm`."""
    return SYS + name.encode()


# -- identities (IAM) --------------------------------------------------------------------------

def iam_prefix(account: str, kind: str) -> bytes:
    """Where an account's IAM records of one kind start; account "" holds the access keys of all."""
    return IAM + account.encode() + SEP + kind.encode() + SEP


def iam_key(account: str, kind: str, name: str) -> bytes:
    return iam_prefix(account, kind) + name.encode()


# -- bucket event notifications ----------------------------------------------------------------

def outbox_prefix(queue: str) -> bytes:
    """Where a target's outbox (`<type>:<id>`) starts: its records in sequence order."""
    return OUTBOX + queue.encode() + SEP


def outbox_key(queue: str, seq: int, boot: str) -> bytes:
    """One record of a target's outbox; the boot id keeps two daemons' records apart on a shared engine."""
    return outbox_prefix(queue) + b"%020d" % seq + SEP + boot.encode()


def outbox_seq(queue: str, key: bytes) -> int:
    """The sequence number in an outbox key."""
    return int(key[len(outbox_prefix(queue)):][:20])


def outbox_key_seq(key: bytes) -> int | None:
    """The sequence number in any outbox record's key (`outbox_key`): the field after the queue's
    (None for the lease keys, which share the sub-level)."""
    parts = key[len(OUTBOX):].split(SEP, 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def outbox_lease_key(queue: str) -> bytes:
    """Which daemon sends a target's outbox (shared engines); `\\0` keeps it apart from every queue's records."""
    return OUTBOX + SEP + b"lease" + SEP + queue.encode()


def notify_target_key(queue: str) -> bytes:
    """A target declared at run time, by `<type>:<id>`."""
    return NOTIFY + queue.encode()
