"""Storage, one module per aggregate (members, orders, coupons, rewards, messaging, settings,
idempotency), each owning its pynamodb models, their mapping to domain objects and its part of the
access-pattern table; `parts` is what a unit of work reads and writes, `dynamo` the unit of work
over DynamoDB, `memory` its in-memory twin for unit tests, `tables` the registry of every model."""
