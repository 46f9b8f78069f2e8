"""The dmd: the metadata daemon (LevelDB) and the data daemon (files on disk)."""
