"""Authentication: per-tenant API keys (argon2id-hashed, shown once)."""
