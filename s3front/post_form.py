"""Browser POST uploads: the multipart/form-data body, streamed, and the success responses.

`FormDecoder` is a pure state machine over python-multipart's parser (bytes in, events out).
`read_form` drives it from the request body: the fields before the `file` part are read and
bounded (AWS refuses more than it allows before the file: MaxPostPreDataLengthExceededError), and
the file part comes back as an async stream of chunks, never held whole. Fields after the file
are ignored, as AWS ignores them. Field names are case-insensitive (kept lower-case); repeated
x-amz-meta-* fields are joined with commas, other repeats keep the last value.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from python_multipart.multipart import MultipartParser, parse_options_header
from python_multipart.exceptions import MultipartParseError

from s3front.tagging import parse_tagging, tagging_header
from s3front.xml import document
from shared import constants as C
from shared.errors import S3Error

FILE = "file"
# Fields that stand for the PutObject header of the same name (AWS's POST Object form fields) ...
_HEADER_FIELDS = ("cache-control", "content-type", "content-disposition", "content-encoding", "expires")
# ... and the x-amz-* fields that sign the form rather than describe the object.
_SIGNING_FIELDS = frozenset({"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature",
                             "x-amz-security-token"})
_ENCLOSURE = "Bucket POST must be of the enclosure-type multipart/form-data"


@dataclass(frozen=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True)
class FileStart:
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class FileData:
    data: bytes


@dataclass(frozen=True)
class FileEnd:
    pass


Event = Field | FileStart | FileData | FileEnd


def _malformed() -> S3Error:
    return S3Error("MalformedPOSTRequest")


def _no_file() -> S3Error:
    return S3Error("InvalidArgument", "POST requires exactly one file upload per request.",
                   ArgumentName="file", ArgumentValue="0")


def is_form(content_type: str | None) -> bool:
    """Whether a body says it is multipart/form-data (it may still lack its boundary)."""
    return parse_options_header(content_type or "")[0] == b"multipart/form-data"


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data Content-Type; PreconditionFailed for another type."""
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise S3Error("PreconditionFailed", Condition=_ENCLOSURE)
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 70:
        raise _malformed()
    return boundary


class FormDecoder:
    """The POST form, in the h11 style: `feed()` bytes, get events; `end()` at the end of the body."""

    def __init__(self, boundary: bytes, max_fields_bytes: int = C.POST_MAX_FIELDS_BYTES,
                 max_fields: int = C.POST_MAX_FIELDS) -> None:
        self.max_fields_bytes = max_fields_bytes
        self.max_fields = max_fields
        self._events: list[Event] = []
        self._pre_bytes = 0                 # field names, values and part headers before the file
        self._fields = 0                    # parts before the file
        self._headers: dict[str, str] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._value = bytearray()
        self._name = ""
        self._state = "fields"              # fields -> file -> after (the rest of the body is ignored)
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value_data, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end, "on_end": self._end})
        self.ended = False                  # the closing boundary was seen

    def feed(self, data: bytes) -> list[Event]:
        if data and not self.ended:
            try:
                self._parser.write(data)
            except MultipartParseError:
                if self._state != "after":
                    raise _malformed() from None
                self.ended = True           # a broken tail after the file: ignored with the rest
        events, self._events = self._events, []
        return events

    def end(self) -> list[Event]:
        """The body ended: an error unless the file part was complete."""
        if self._state in ("fields", "file") and not self.ended:
            raise _malformed()
        if self._state == "fields":
            raise _no_file()
        return []

    # -- callbacks ----------------------------------------------------------------------------------
    def _count(self, n: int) -> None:
        if self._state == "fields":
            self._pre_bytes += n
            if self._pre_bytes > self.max_fields_bytes:
                raise S3Error("MaxPostPreDataLengthExceededError")

    def _part_begin(self) -> None:
        self._headers, self._value = {}, bytearray()
        if self._state == "fields":
            self._fields += 1
            if self._fields > self.max_fields:
                raise S3Error("MaxPostPreDataLengthExceededError")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        if self._state != "after":
            self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._count(end - start)
        if self._state != "after":
            self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._state != "after":
            name = self._header_name.decode("latin-1").strip().lower()
            self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_name, self._header_value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        if self._state == "after":
            return
        kind, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get(b"name")
        if kind != b"form-data" or name is None:
            raise _malformed()
        self._name = self._text(name).lower()
        if self._name == FILE:
            self._state = "file"
            filename = params.get(b"filename")
            self._events.append(FileStart(None if filename is None else self._text(filename),
                                          self._headers.get("content-type")))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._state == "file":
            self._events.append(FileData(data[start:end]))
        elif self._state == "fields":
            self._count(end - start)
            self._value += data[start:end]

    def _part_end(self) -> None:
        if self._state == "file":
            self._state = "after"
            self._events.append(FileEnd())
        elif self._state == "fields":
            self._events.append(Field(self._name, self._text(bytes(self._value))))

    def _end(self) -> None:
        self.ended = True

    @staticmethod
    def _text(raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed() from None


@dataclass
class PostForm:
    fields: dict[str, str]          # lower-case names, in form order
    filename: str | None
    file_content_type: str | None
    file: AsyncIterator[bytes]      # the file part's bytes; raises MalformedPOSTRequest if cut short


def _add_field(fields: dict[str, str], event: Field) -> None:
    if event.name.startswith("x-amz-meta-") and event.name in fields:
        fields[event.name] += "," + event.value
    else:
        fields[event.name] = event.value


async def read_form(body: AsyncIterator[bytes], content_type: str | None,
                    max_fields_bytes: int = C.POST_MAX_FIELDS_BYTES, max_fields: int = C.POST_MAX_FIELDS) -> PostForm:
    """Read the form up to the start of its file part; the file then streams from `form.file`."""
    decoder = FormDecoder(boundary_of(content_type), max_fields_bytes, max_fields)
    fields: dict[str, str] = {}
    pending: list[Event] = []
    start: FileStart | None = None
    async for chunk in body:
        pending = decoder.feed(chunk)
        while pending and start is None:
            event = pending.pop(0)
            if isinstance(event, Field):
                _add_field(fields, event)
            elif isinstance(event, FileStart):
                start = event
        if start is not None:
            break
    if start is None:
        decoder.end()
        raise _no_file()
    return PostForm(fields, start.filename, start.content_type, _file_stream(body, decoder, pending))


async def _file_stream(body: AsyncIterator[bytes], decoder: FormDecoder, pending: list[Event]) -> AsyncIterator[bytes]:
    """The file part's data, then the rest of the body read and dropped."""
    done = False
    while True:
        for event in pending:
            if isinstance(event, FileData) and event.data and not done:
                yield event.data
            elif isinstance(event, FileEnd):
                done = True
        if done:
            async for _ in body:            # fields after the file are ignored, as AWS does
                pass
            return
        try:
            chunk = await anext(body)
        except StopAsyncIteration:
            decoder.end()                   # the body stopped inside the file part
            raise _malformed() from None
        pending = decoder.feed(chunk)


# -- the form's meaning and the answer --------------------------------------------------------------
def object_key(fields: dict[str, str], filename: str | None) -> str:
    """The `key` field with `${filename}` replaced by the uploaded file's name."""
    if "key" not in fields or not fields["key"]:
        raise S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, "
                                         "please check the order of the fields.", ArgumentName="key", ArgumentValue="")
    return fields["key"].replace("${filename}", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])


def put_headers(fields: dict[str, str]) -> dict[str, str]:
    """The PutObject headers a form's fields stand for: the content headers, every x-amz-* field but
    the signing ones (metadata, storage class, checksums, encryption, lock), `acl` as x-amz-acl and the
    `tagging` document as x-amz-tagging (InvalidTag, MalformedXML, ... if it is wrong)."""
    headers = {name: fields[name] for name in _HEADER_FIELDS if name in fields}
    headers.update((n, v) for n, v in fields.items() if n.startswith("x-amz-") and n not in _SIGNING_FIELDS)
    if "acl" in fields:
        headers["x-amz-acl"] = fields["acl"]
    if "tagging" in fields:
        headers["x-amz-tagging"] = tagging_header(parse_tagging(fields["tagging"].encode()))
    return headers


def _redirect(url: str, bucket: str, key: str, etag: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None                         # AWS acts as if a URL it cannot read were absent
    query = f"bucket={quote(bucket, safe='')}&key={quote(key, safe='')}&etag={quote(etag, safe='')}"
    return f"{url}{'&' if parts.query else '?'}{query}"


def success_response(fields: dict[str, str], bucket: str, key: str, etag: str,
                     location: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a successful POST: a 303 to success_action_redirect (or the
    older `redirect`) when it is a URL, else success_action_status 200, 201 (with PostResponse)
    or 204, the default for anything else."""
    headers = {"ETag": etag, "Location": location}
    target = fields.get("success_action_redirect") or fields.get("redirect")
    url = _redirect(target, bucket, key, etag) if target else None
    if url is not None:
        return 303, {**headers, "Location": url}, b""
    status = fields.get("success_action_status")
    if status == "200":
        return 200, headers, b""
    if status == "201":
        body = document("PostResponse", [("Location", location), ("Bucket", bucket), ("Key", key), ("ETag", etag)],
                        namespace=False)
        return 201, {**headers, "Content-Type": "application/xml"}, body
    return 204, headers, b""
