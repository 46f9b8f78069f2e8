"""Bucket event notifications in the metadata daemon: the outbox, its delivery workers, the targets."""
