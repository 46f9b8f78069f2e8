"""Maintenance over the two contracts: garbage collection and fsck, run by front-ends and `coffer gc|fsck`."""
