"""Every figure of the design (design.md §0), named once."""

# Ports and addresses
S3_PORT = 8000
METADATA_PORT = 9990
DATA_PORT = 9991
DEFAULT_BIND = "127.0.0.1"

# HTTP limits of every port (S3, metadata, data), docs/deploy.md "Limits". AWS allows 8 KB of head;
# these leave room for what real clients send: a 1024-byte key percent-encoded (~3 KB) in the URL or in
# x-amz-copy-source, presigned queries with session tokens, 2 KB of metadata as many x-amz-meta-* fields.
HTTP_MAX_URL_BYTES = 16 * 1024        # the request target (path and query) of the request line
HTTP_MAX_FIELD_BYTES = 16 * 1024      # one header field, name and value
HTTP_MAX_FIELDS = 2000                # header fields: 2 KB of metadata as 1024 two-byte pairs, and the rest
HTTP_MAX_HEAD_BYTES = 64 * 1024       # the request line and all header fields together
HTTP_HEADER_TIMEOUT_S = 20.0          # a request head is complete this long after its first byte (or the connect)
HTTP_BODY_TIMEOUT_S = 20.0            # a body that sends nothing this long gets 400 RequestTimeout, as on S3
HTTP_DAEMON_BODY_GRACE_S = 10.0       # the daemons wait this much longer, so a front-end times its client out first
HTTP_IDLE_TIMEOUT_S = 60.0            # a keep-alive connection waiting for its next request is closed after this
HTTP_LINGER_S = 2.0                   # a refused connection closes this long after the answer, so the client reads it
HTTP_LINGER_BYTES = 2**20             # what it sends meanwhile is read and dropped up to this much, then left unread

# RPC (front-end <-> metadata daemon)
RPC_NAMESPACE = "/MDFile/metadata"
RPC_PROTO = 2                        # 2: the typed contract (shared/contract/), pieces with partNumber
RPC_API_VERSION = "1.0"
RPC_CALL_TIMEOUT_S = 30.0
RPC_RECONNECT_WAIT_S = 5.0          # a call made while disconnected waits at most this long
RPC_MAX_MESSAGE_BYTES = 100 * 2**20
JSON_MAX_DEPTH = 254                 # the deepest nesting orjson encodes (it decodes up to 1024)
BUCKET_CACHE_SIZE = 10_000           # bucket attributes a front-end keeps (invalidated by the daemon)
INVALIDATE_ACK_TIMEOUT_S = 2.0       # a client that does not confirm an invalidation is disconnected

# LevelDB
LDB_CACHE_BYTES = 64 * 2**20

# Backends (S3BACKEND): LevelDB and data files on disk, or everything in the daemons' memory
BACKENDS = ("file", "mem")

# Metadata engines of the file backend (METADATA_ENGINE): LevelDB (the default) or PostgreSQL (METADATA_DSN)
ENGINES = ("leveldb", "postgres")
PG_POOL_SIZE = 10                    # METADATA_POOL_SIZE: connections per pool (reads, locked operations)
PG_CONNECT_TIMEOUT_S = 10.0          # the daemon refuses to start when PostgreSQL does not answer by then
PG_PAGE_FIRST = 16                   # a cursor's first page (and after a seek): a point scan reads a few rows
PG_PAGE_MAX = 1000                   # its largest page: what one scan holds in memory at most
PG_BUCKETS_CHANNEL = "coffer_buckets"   # LISTEN/NOTIFY: bucket attributes changed through another daemon
PG_VID_SLOTS = 1000                  # version-id sequence slots: daemons on one database never share an id

# In-memory engine (S3BACKEND=mem): a cursor reads its range in pages, growing from the first to the last size
MEM_CURSOR_FIRST_PAGE = 16           # a point scan (has_keys, next_version) or a seek reads a few keys, not 512
MEM_CURSOR_MAX_PAGE = 512            # bounds how long one page holds the engine's lock

# Write gathering
WG_WINDOW_S = 0.005
WG_MAX_BATCH_BYTES = 4 * 2**20
WG_MAX_BATCH_OPS = 10_000

# Acknowledged streams
STREAM_MAX_PENDING_ACK = 4
STREAM_ACK_TIMEOUT_S = 5.0
STREAM_MAX_AGE_S = 600.0
STREAM_PACKET_ITEMS = 1000
STREAM_PACKET_BYTES = 2**20
STREAM_CLIENT_QUEUE_PACKETS = 4      # packets a consumer holds unread before it delays its acks

# Listing
LISTING_MAX_KEYS = 1000
LISTING_SKIP_STREAK = 4              # measured: a local seek beats reading on past 4 keys (reference: 100)
LIST_BUCKETS_MAX = 10_000             # ListBuckets: the largest max-buckets, and the page size once paging is asked for

# Integers in requests (shared/params.py)
MAX_INT32 = 2**31 - 1                 # AWS's bound for max-keys, max-parts, part-number-marker and the like
INT_MAX_DIGITS = 19                   # past this many significant digits a number is out of every range we accept

# Versioning
VERSION_SEPARATOR = b"\x00"
REPLICATION_GROUP_ID = "RG001"
VERSION_ID_LENGTH = 27

# Data daemon
DATA_KEY_BYTES = 20
DATA_HASH_DIRS = 3511
DATA_TMP_MAX_AGE_S = 3600
DATA_CHUNK_BYTES = 256 * 1024
INLINE_MAX_BYTES = 4096              # bodies up to this size live in their metadata record (COFFER_INLINE_MAX)
DATA_INLINE_READ_BYTES = 64 * 1024     # data files up to this size are read on the event loop, in one call
DATA_KEEPALIVE_EXPIRY_S = 30.0

# Objects and multipart
MAX_KEY_BYTES = 1024
MAX_USER_METADATA_BYTES = 2048
MAX_PUT_BYTES = 5 * 2**30
MPU_MIN_PART_SIZE = 5 * 2**20
MPU_MAX_PART_NUMBER = 10_000
MULTI_DELETE_MAX_KEYS = 1000          # DeleteObjects: keys per request
MULTI_DELETE_MAX_BODY = 4 * 2**20     # room for 1000 keys of 1024 bytes, XML-escaped
MULTI_DELETE_PARALLEL = 32            # deletes of one request in flight at once

# Authentication
MAX_CLOCK_SKEW_S = 15 * 60
MAX_PRESIGNED_EXPIRES_S = 7 * 24 * 3600
CHUNKED_MIN_CHUNK_BYTES = 8192        # every signed aws-chunked chunk but the last
CHUNKED_MAX_LINE_BYTES = 4096         # a chunk header or trailer line
DEFAULT_CHECKSUM = "crc64nvme"        # what S3 computes when a PUT names no checksum

# Garbage collection
GC_GRACE_S = 5 * 60
GC_INTERVAL_S = 60
ORPHAN_GRACE_S = 24 * 3600
GC_MAX_PARALLEL_DELETES = 16

# Bucket CORS (PutBucketCors): body size, rule count and the methods a rule may allow, as on AWS.
CORS_MAX_BODY = 64 * 1024
CORS_MAX_RULES = 100
CORS_METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")

# Access control lists, as AWS limits them.
ACL_MAX_GRANTS = 100                  # "An ACL can have up to 100 grants" (maxOccurs of Grant in AWS's schema)

# The prefixes and suffixes AWS reserves in general purpose bucket names ("Bucket naming rules").
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")      # sthree- covers sthree-configurator
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

# Files a daemon creates (data files, LevelDB, the cluster secret) are its user's alone.
PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

# The metadata client's reconnection: fast first attempts (a supervised daemon is back within about
# a second), then a capped backoff. Attempts at a closed port cost nothing on either side.
RPC_RECONNECT_FIRST_S = 0.1
RPC_RECONNECT_MAX_S = 0.25
RPC_RECONNECT_JITTER_S = 0.05

# `coffer serve` supervising its children: restart at once, then 0.5, 1, 2, 4, 8, 10, 10 ... s
SERVE_POLL_S = 0.05
SERVE_RESTART_FIRST_DELAY_S = 0.5
SERVE_RESTART_MAX_DELAY_S = 10.0
SERVE_CHILD_STABLE_S = 30.0          # a child that ran this long starts its backoff afresh
SERVE_MAX_WORKERS = 64               # `coffer serve --workers`: front-end processes on the one S3 port
SERVE_STOP_TIMEOUT_S = 15.0          # after SIGTERM, a child still running then is killed

# Object and bucket tagging, as AWS limits them ("Categorizing your storage using tags").
TAGS_MAX_OBJECT = 10
TAGS_MAX_BUCKET = 50
TAG_KEY_MAX_CHARS = 128
TAG_VALUE_MAX_CHARS = 256
TAGGING_MAX_BODY = 64 * 1024          # 50 tags of 128 + 256 characters, XML-escaped, fit with room

# Bucket lifecycle (PutBucketLifecycleConfiguration).
LIFECYCLE_MAX_RULES = 1000
LIFECYCLE_ID_MAX_CHARS = 255
LIFECYCLE_MAX_BODY = 2**20
LIFECYCLE_DAY_S = 86_400              # COFFER_LIFECYCLE_DAY_SECONDS shortens it for tests
LIFECYCLE_MAX_FILTER_SIZE = 1_099_511_627_776_000    # the largest ObjectSize* a filter may name
# The expiry worker (s3front/lifecycle/worker.py): a pass of the cluster about hourly with real days;
# with a shortened day, every few seconds and just after each day boundary (when actions fall due).
LIFECYCLE_LEASE = "lifecycle"         # the name of its cluster-wide lease
LIFECYCLE_LEASE_TTL_S = 30.0          # a dead holder's lease frees within this
LIFECYCLE_INTERVAL_S = 3600.0         # between two passes of the cluster, with real days
LIFECYCLE_TICK_S = 15.0               # how often a front-end checks whether a pass is due
LIFECYCLE_DEBUG_INTERVAL_MIN_S = 1.0  # with a shortened day: a pass every day/4 seconds, within these
LIFECYCLE_DEBUG_INTERVAL_MAX_S = 5.0
LIFECYCLE_BOUNDARY_SLACK_S = 0.05     # a pass starts this long after a (shortened) day boundary
LIFECYCLE_PAGE = 500                  # versions or uploads listed per call
LIFECYCLE_REPORT_ACTIONS = 1000       # actions a pass's report lists one by one (the counts are complete)

# Object Lock default retention, as AWS bounds it.
OBJECT_LOCK_MAX_DAYS = 36_500
OBJECT_LOCK_MAX_YEARS = 100

# Browser POST uploads: the form fields before the file part, all told (AWS refuses more).
POST_MAX_FIELDS_BYTES = 20 * 1024
POST_MAX_FIELDS = 200                 # ... and their number (a form with more is refused the same way)

# Server-side encryption (s3front/sse): the envelope format and its keys.
SSE_PACKAGE_BYTES = 64 * 1024         # plaintext bytes per AES-256-GCM package (the last may be shorter)
SSE_TAG_BYTES = 16                    # the GCM tag closing each package
SSE_KEY_BYTES = 32                    # AES-256 data keys, key-encryption keys, SSE-C keys, the master key
SSE_SALT_BYTES = 12                   # per-object (per-part) salt: the base GCM nonce of its packages
SSE_FORMAT_VERSION = 1                # the envelope format; the decryptor refuses versions it does not know
SSE_CONFIG_MAX_BODY = 64 * 1024       # a PutBucketEncryption body
SSE_BUFFERED_READ_BYTES = 2**20       # encrypted reads up to this (sealed) size open whole before the answer starts
SSE_CONTEXT_MAX_BYTES = 8192          # a decoded x-amz-server-side-encryption-context (KMS's own limit)
KMS_RELOAD_MIN_S = 1.0                # an unknown KMS key id reloads the key store at most this often
KMS_REFRESH_S = 10.0                  # a key another front-end disabled (or created) is seen here within this

# Server access logging: how long records wait before they are delivered (COFFER_ACCESS_LOG_FLUSH_SECONDS),
# how many a target holds, how often the buffer is looked at, and how many sources' targets a front-end keeps.
ACCESS_LOG_FLUSH_S = 60.0
ACCESS_LOG_MAX_RECORDS = 10_000
ACCESS_LOG_TICK_S = 1.0               # how often the delivery lease's holder asks for due batches
ACCESS_LOG_SHIP_S = 0.5               # how often a front-end hands its records to the metadata daemon
ACCESS_LOG_LEASE = "access-log"       # the cluster-wide lease of the front-end that writes log objects
ACCESS_LOG_LEASE_TTL_S = 10.0         # a dead holder's lease frees within this
ACCESS_LOG_KEEP_S = 3600.0            # records no target write took within this are dropped
ACCESS_LOG_MIN_FLUSH_S = 0.5          # a smaller (or zero, or negative) setting is taken as this
ACCESS_LOG_TARGETS_CACHED = 10_000
LOGGING_MAX_BODY = 64 * 1024          # a BucketLoggingStatus document
LOG_DELIVERY_SERVICE = "logging.s3.amazonaws.com"   # the service principal a target's policy lets write logs

# Access policies (s3front/iam), as AWS limits them. IAM counts characters with the whitespace taken out.
BUCKET_POLICY_MAX_BYTES = 20 * 1024   # "Bucket policies are limited to 20 KB in size"
IAM_MANAGED_POLICY_MAX_CHARS = 6144
IAM_USER_INLINE_MAX_CHARS = 2048      # all inline policies of one user together
IAM_GROUP_INLINE_MAX_CHARS = 5120
IAM_ROLE_INLINE_MAX_CHARS = 10240
POLICY_ACTION_CACHE_SIZE = 1024       # actions whose candidate statements one compiled policy remembers
POLICY_PATTERN_CACHE_SIZE = 4096      # regexes built from patterns after policy variables were put in

# Identities (s3front/iam_api) and temporary credentials (STS), as AWS limits them.
IAM_MAX_ACCESS_KEYS = 2               # access keys per IAM user
IAM_MAX_GROUPS_PER_USER = 10
IAM_MAX_POLICY_VERSIONS = 5
IAM_MAX_ATTACHED_POLICIES = 10        # managed policies attached to one user, group or role
IAM_MAX_TAGS = 50
IAM_OIDC_MAX_CLIENT_IDS = 100         # client ids of one OpenID Connect provider
IAM_OIDC_MAX_THUMBPRINTS = 5
# What GetAccountSummary reports as an account's quotas (AWS's defaults; Coffer enforces the
# per-entity ones above, not these account-wide counts).
IAM_ACCOUNT_QUOTAS = {"UsersQuota": 5000, "GroupsQuota": 300, "RolesQuota": 1000, "PoliciesQuota": 1500,
                      "ServerCertificatesQuota": 20, "InstanceProfilesQuota": 1000}
IAM_MAX_BODY_BYTES = 256 * 1024       # an IAM/STS form body (policies are at most 10 KB, URL-encoded)
IAM_CACHE_TTL_S = 60.0                # safety net only: front-ends forget identities when told (store.py)
IAM_CACHE_SIZE = 10_000
IAM_COMMIT_ATTEMPTS = 5               # plans retried after a ConcurrentModification
STS_DEFAULT_ROLE_MAX_SESSION_S = 3600
STS_MIN_ROLE_SESSION_S = 3600         # a role's MaxSessionDuration: 1 to 12 hours
STS_MAX_ROLE_SESSION_S = 43200
STS_CHAINED_SESSION_MAX_S = 3600      # a role assumed with a role session's credentials: at most an hour
STS_MIN_DURATION_S = 900
STS_SESSION_TOKEN_DEFAULT_S = 43200   # GetSessionToken: 12 hours by default, 15 min to 36 h
STS_SESSION_TOKEN_MAX_S = 129600
STS_ROOT_SESSION_TOKEN_MAX_S = 3600   # an account root's session tokens last at most an hour
STS_SESSION_POLICY_MAX_CHARS = 2048

# Data locations (locationConfig.json, docs/locations.md).
LOCATION_TYPES = ("file", "mem", "aws_s3")
LOCATION_FILE_NAME = "locationConfig.json"     # S3DATA=multiple without S3_LOCATION_FILE: beside COFFER_CONFIG
LOCATION_HEADER = "x-amz-meta-scal-location-constraint"   # a PUT's own location, over its bucket's
LOCATION_HEALTH_INTERVAL_S = 5.0      # a front-end asks every data location for its health this often ...
LOCATION_HEALTH_TIMEOUT_S = 3.0       # ... and calls one that has not answered within this degraded
MEMORY_DATA_PATH = "/MemFile"         # the data daemon's memory store (`mem` locations), beside /DataFile
# The storage classes AWS defines: x-amz-storage-class and a location's storageClasses name these.
STORAGE_CLASSES = ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                   "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE")
# A remote S3 location (aws_s3): every call has a deadline, so a dead or slow remote is a 503, never a hang.
REMOTE_CONNECT_TIMEOUT_S = 5.0
REMOTE_READ_TIMEOUT_S = 30.0          # between two reads of an answer (and two writes of a body)
REMOTE_POOL_TIMEOUT_S = 10.0          # waiting for a free connection of the pool
REMOTE_MAX_CONNECTIONS = 128
REMOTE_MAX_IDLE = 32
REMOTE_PART_BYTES = 8 * 2**20         # an unknown-length put goes to the remote as a multipart upload of these
REMOTE_LIST_PAGE = 1000

# TLS and metrics (shared/tls.py, shared/metrics.py)
TLS_SELF_SIGNED_DAYS = 90             # `coffer serve --tls-self-signed`: a throwaway certificate's life
TLS_SELF_SIGNED_DIR = "tls"           # ... kept under the metadata directory
METRICS_PATH = "/_/metrics"
CONSOLE_PATH = "/_/console/"   # the web console's page and assets (COFFER_CONSOLE=0: off)
# Request and RPC latencies, in seconds: from a cached metadata read to a large upload.
METRICS_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                           10.0, 30.0, 60.0)
METRICS_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)    # writes (or files) per synced batch
PROGRESS_PLAIN_EVERY_S = 2.0          # `coffer fsck`/`gc --sweep` off a terminal: a progress line this often

# Bucket event notifications (shared/notify/, dmd/metadata/notify/; docs/notifications.md)
NOTIFY_CONFIG_KIND = "notification"   # the cold bucket configuration holding a bucket's rules
NOTIFY_ENV_PREFIX = "COFFER_NOTIFY_"  # COFFER_NOTIFY_<TYPE>_<ID>_<KEY>=value
NOTIFY_QUEUE_LIMIT = 100_000          # a target's outbox bound unless its queue_limit says otherwise
NOTIFY_MAX_BODY = 256 * 1024          # a NotificationConfiguration body
NOTIFY_MAX_RULES = 100                # configurations of one bucket
NOTIFY_READ_BATCH = 256               # outbox records a worker reads (and deletes) at a time
NOTIFY_POLL_S = 1.0                   # a worker looks at its outbox this often even when not woken
NOTIFY_FULL_READ_S = 5.0              # ... and reads it from its start this often (worker.py)
NOTIFY_BACKOFF_MIN_S = 0.1            # retry delays while a target is down: doubling up to the max
NOTIFY_BACKOFF_MAX_S = 5.0
NOTIFY_SEND_TIMEOUT_S = 10.0          # one delivery (connect included)
NOTIFY_ACCESSED_PENDING = 1000        # ObjectAccessed events a front-end keeps in flight before dropping
NOTIFY_LEASE_S = 30.0                 # on a shared engine, one daemon's worker sends a target's outbox: its lease
NOTIFY_LEASE_RENEW_S = 20.0           # ... renewed when less than this is left
NOTIFY_TARGETS_CHANNEL = "coffer_notify_targets"   # LISTEN/NOTIFY: run-time targets changed through another daemon
NOTIFY_STANDBY_S = 5.0                # how often a daemon without the lease looks whether it is free
# The front-end's health endpoints beside /_/health: liveness (the process) and readiness (its daemons).
HEALTH_LIVE_PATH = "/_/health/live"
HEALTH_READY_PATH = "/_/health/ready"
HEALTH_CHECK_TIMEOUT_S = 2.0          # the longest /_/health/ready waits for the data locations' answers
