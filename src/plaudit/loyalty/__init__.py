"""The loyalty program: earning rules, an append-only points ledger, tiers and a rewards catalog."""
