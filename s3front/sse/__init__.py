"""Server-side encryption: the envelope format, keys, the KMS, request headers and bucket defaults."""
