"""Every figure of the design (dmd-reference §0), named once."""

# Ports and addresses
S3_PORT = 8000
METADATA_PORT = 9990
DATA_PORT = 9991
DEFAULT_BIND = "127.0.0.1"

# RPC (front-end <-> metadata daemon)
RPC_NAMESPACE = "/MDFile/metadata"
RPC_PROTO = 1
RPC_API_VERSION = "1.0"
RPC_CALL_TIMEOUT_S = 30.0
RPC_RECONNECT_WAIT_S = 5.0          # a call made while disconnected waits at most this long
RPC_MAX_MESSAGE_BYTES = 100 * 2**20
BUCKET_CACHE_SIZE = 10_000           # bucket attributes a front-end keeps (invalidated by the daemon)
INVALIDATE_ACK_TIMEOUT_S = 2.0       # a client that does not confirm an invalidation is disconnected

# LevelDB
LDB_CACHE_BYTES = 64 * 2**20

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

# Versioning
VERSION_SEPARATOR = b"\x00"
REPLICATION_GROUP_ID = "RG001"
VERSION_ID_LENGTH = 27

# Data daemon
DATA_KEY_BYTES = 20
DATA_HASH_DIRS = 3511
DATA_TMP_MAX_AGE_S = 3600
DATA_CHUNK_BYTES = 256 * 1024
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

# Access policies (s3front/iam), as AWS limits them. IAM counts characters with the whitespace taken out.
BUCKET_POLICY_MAX_BYTES = 20 * 1024   # "Bucket policies are limited to 20 KB in size"
IAM_MANAGED_POLICY_MAX_CHARS = 6144
IAM_USER_INLINE_MAX_CHARS = 2048      # all inline policies of one user together
IAM_GROUP_INLINE_MAX_CHARS = 5120
IAM_ROLE_INLINE_MAX_CHARS = 10240
POLICY_ACTION_CACHE_SIZE = 1024       # actions whose candidate statements one compiled policy remembers
POLICY_PATTERN_CACHE_SIZE = 4096      # regexes built from patterns after policy variables were put in
