"""Secrets at rest: product HMAC secrets are encrypted with the server's master key.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) authenticates what it decrypts, so
a tampered row fails loudly instead of yielding a wrong secret. Several master keys may be given,
newest first: rows written under an older key still decrypt, and ``rotate`` re-encrypts them.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class MasterKeyError(ValueError):
    """The master key is malformed, or does not decrypt what the store holds."""


class SecretBox:
    def __init__(self, master_keys: str) -> None:
        keys = [k.strip() for k in master_keys.split(",") if k.strip()]
        if not keys:
            raise MasterKeyError("PLAUDIT_MASTER_KEY is empty.")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError:
            raise MasterKeyError(
                "PLAUDIT_MASTER_KEY must be url-safe base64 of 32 bytes; make one with "
                "'python -c \"from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())\"'."
            ) from None

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise MasterKeyError(
                "A stored secret does not decrypt with PLAUDIT_MASTER_KEY: the key changed. "
                "List the old key after the new one (comma-separated) to keep reading it."
            ) from None

    def rotate(self, ciphertext: str) -> str:
        return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
