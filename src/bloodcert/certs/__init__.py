"""Certificates: signing keys, COSE/CWT/Base45 payloads, trust list, status list, rendering."""
