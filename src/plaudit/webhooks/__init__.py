"""Webhooks: signed notifications to a tenant's endpoints, from a durable outbox.

Other features call ``plaudit.webhooks.service.enqueue`` inside their own transaction; the
worker (``plaudit.webhooks.worker``) delivers what is due, off the request path. This module
imports nothing so that importing the service from anywhere stays free of cycles.
"""
