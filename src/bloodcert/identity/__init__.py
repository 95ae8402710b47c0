"""Donor login: ID + donation number, real-name OAuth providers, sessions and captcha."""
