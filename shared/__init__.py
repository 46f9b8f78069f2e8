"""Code that both the S3 front-end and the daemons import: config, logging, errors, RPC, clients."""
