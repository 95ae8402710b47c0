"""JSON API route handlers."""
