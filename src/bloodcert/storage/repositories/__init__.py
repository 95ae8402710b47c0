"""Repositories: every query lives here, named for what it fetches. None of them commits."""
