"""Reference data shipped with bloodcert (region codes, built-in stations)."""
