"""What one user sees of every program at once: /v1/me for the widget, and the console's user page."""
