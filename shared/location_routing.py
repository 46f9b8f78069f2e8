"""Where bytes go: the router over the configured data locations, and the choice of a location
for a bucket (LocationConstraint) and for an object (x-amz-meta-scal-location-constraint, its
storage class), as pure functions of the checked `locationConfig.json` (shared/locations.py)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared import constants as C
from shared.contract.data import DataBackend, DataRouter
from shared.contract.records import DEFAULT_LOCATION
from shared.data_inline import InlineBackend
from shared.errors import S3Error
from shared.locations import DaemonDetails, Location


def location_for_class(locations: Mapping[str, Location], storage_class: str) -> Location | None:
    """The location that declares a storage class, if one does (each class has at most one)."""
    return next((loc for loc in locations.values() if storage_class in loc.storage_classes), None)


def bucket_location(locations: Mapping[str, Location], constraint: str | None,
                    default: str = DEFAULT_LOCATION) -> str:
    """CreateBucket: the location its LocationConstraint names; none given, the endpoint's default."""
    if not constraint:
        return default
    found = locations.get(constraint)
    if found is None:
        raise S3Error("InvalidLocationConstraint", f"The specified location constraint is not valid: "
                      f"{constraint!r} is not a configured location.", LocationConstraint=constraint)
    if found.legacy_aws_behavior:       # as AWS refuses to be told us-east-1: it is what no constraint means
        raise S3Error("InvalidLocationConstraint", f"The specified location constraint is not valid: "
                      f"{constraint!r} is the default, given by no LocationConstraint.", LocationConstraint=constraint)
    return constraint


def location_constraint_reply(locations: Mapping[str, Location], location: str) -> str:
    """GetBucketLocation's LocationConstraint: empty for us-east-1 and the locations that answer as it does."""
    found = locations.get(location)
    return "" if not location or location == DEFAULT_LOCATION or (found and found.legacy_aws_behavior) else location


def object_location(locations: Mapping[str, Location], bucket_loc: str, header: str | None = None,
                    storage_class: str | None = None) -> str:
    """Where a PUT's bytes go: x-amz-meta-scal-location-constraint, else its storage class's, else the bucket's."""
    if storage_class is not None and storage_class not in C.STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", StorageClassRequested=storage_class)
    if header:
        if header not in locations:
            raise S3Error("InvalidArgument", f"Object Location Error: {header!r} is not a configured location.",
                          ArgumentName="x-amz-meta-scal-location-constraint", ArgumentValue=header)
        return header
    serving = location_for_class(locations, storage_class) if storage_class else None
    return serving.name if serving is not None else (bucket_loc or DEFAULT_LOCATION)


@dataclass(frozen=True)
class Placement:
    """Where a front-end's buckets and writes go: the configured locations, and whether a
    locationConfig.json named them (`strict`: a LocationConstraint must then name one)."""

    locations: Mapping[str, Location]
    strict: bool = False
    defaults: Mapping[str, str] = field(default_factory=dict)    # restEndpoints: endpoint -> location

    def bucket(self, constraint: str | None, endpoint: str = "") -> str:
        """The location CreateBucket stores: the LocationConstraint's, else the default of the endpoint
        the request was sent to (restEndpoints), else "" (the default location, `us-east-1`)."""
        if not constraint:
            default = self.defaults.get(endpoint, "")
            return "" if default == DEFAULT_LOCATION else default
        if not self.strict:         # no location file: a region name, kept as given; the data is in us-east-1
            return constraint
        return bucket_location(self.locations, constraint)

    def reply(self, location: str) -> str:
        """GetBucketLocation's LocationConstraint for a bucket's stored location."""
        return location_constraint_reply(self.locations, location)

    def object(self, bucket_loc: str, header: str | None, storage_class: str | None) -> str:
        """Where a write's bytes go (InvalidStorageClass, InvalidArgument for what names nothing)."""
        if not self.strict and bucket_loc not in self.locations:
            bucket_loc = DEFAULT_LOCATION
        return object_location(self.locations, bucket_loc, header, storage_class)


def build_router(config: Any, locations: Mapping[str, Location], default_client: DataBackend) -> DataRouter:
    """A router over every location: the cluster's own data daemon is `default_client`, shared."""
    from shared.data_daemon import DaemonBackend, MemoryBackend
    backends: dict[str, DataBackend] = {}
    for name, loc in locations.items():
        d = loc.details
        if loc.type == "aws_s3":
            from shared.data_s3 import S3Backend        # botocore is imported only where a remote is used
            backends[name] = S3Backend(name, d)
        elif loc.type == "mem":
            backends[name] = MemoryBackend(d.host or config.data_host, d.port or config.data_port,
                                           config.cluster_secret)
        elif _is_own_daemon(d, config):
            backends[name] = default_client
        else:
            backends[name] = DaemonBackend(d.host or config.data_host, d.port or config.data_port,
                                           config.cluster_secret)
    # Small bodies bound for the cluster's own daemons live in their records (shared/data_inline.py);
    # a remote keeps every byte it is given, where its own clients can read them. The inline backend
    # is there even with COFFER_INLINE_MAX=0: the objects stored inline before still read.
    own = [name for name, loc in locations.items() if loc.type != "aws_s3"]
    inline_max = getattr(config, "inline_max", 0)
    return DataRouter(backends, DEFAULT_LOCATION, InlineBackend(inline_max), inline_max, own)


def _is_own_daemon(d: DaemonDetails, config: Any) -> bool:
    return (d.host or config.data_host) == config.data_host and (d.port or config.data_port) == config.data_port
