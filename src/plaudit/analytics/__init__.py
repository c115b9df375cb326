"""Analytics: a product's referral funnel, points, active users and top rewards and rules over a
period, read from the ledger and the event tables (see docs/analytics.md)."""
