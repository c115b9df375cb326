"""Events a user's actions send to Plaudit (the gamification guide's "Send your first event")."""
