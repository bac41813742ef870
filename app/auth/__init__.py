"""Accounts: signup, verification, login, tokens, passwords, Google sign-in."""
