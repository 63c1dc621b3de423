"""Storage: the DynamoDB tables (`schema`) and the repository every service goes through (`repository`)."""
