"""Accounts: users, teams and their members, API keys, browser sessions, invitations, login rate limits.

Reach it as ``store.accounts`` (:class:`runyard.store.accounts.room.Accounts`).
"""
