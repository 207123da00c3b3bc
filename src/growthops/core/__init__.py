"""Core: database access, tenants, jobs, logs, errors."""
