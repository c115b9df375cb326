"""The admin console at /console: server-rendered pages over the same services as the API.

``plaudit.console.routes.router`` is the one thing ``create_app`` includes. See docs/console.md
for what each page does and how sign-in, sessions, CSRF and the rate limit work.
"""
