"""The admin CLI (`python -m admin`): moving a merchant in (import, export), the backfill of index
keys and the replay of the jobs' dead-letter queue. It runs on an operator's machine against any
DynamoDB endpoint and is not part of the Lambda package (Chalice packages `app.py` and `chalicelib/`)."""
