"""User profiles, mapped from verified tokens."""
