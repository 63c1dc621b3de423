"""The local stack of `make run` and the tests: an embedded DynamoDB-compatible store, a fake
WeChat server and the runner that serves the API on top of them. Never imported by the app, and
outside `chalicelib/` so that it never ships in the Lambda package."""
