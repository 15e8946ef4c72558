"""Writes of the integrations app: the inbox, processing, mappings, replays."""
