"""Bucket lifecycle in the front-end: the rules on the request path (rules.py) and the expiry
worker (worker.py, one pass over a bucket in scan.py). The grammar and the decisions are pure, in
shared/lifecycle.py, shared/lifecycle_model.py and shared/lifecycle_plan.py."""
