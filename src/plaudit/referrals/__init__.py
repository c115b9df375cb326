"""The referral program: codes and share links, clicks, referred signups, conversions, rewards."""
