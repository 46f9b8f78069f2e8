"""The S3 front-end: stateless; speaks S3 REST and asks the daemons for everything durable."""
