"""Plaudit: referrals, loyalty and gamification behind tokens your backend signs."""

__version__ = "0.1.0"
