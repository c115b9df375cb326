"""Products (tenants' apps), their secrets, public keys, JWKS sources, API keys and revocations."""
