"""The data daemon: object bytes in files, behind the REST /DataFile API."""
