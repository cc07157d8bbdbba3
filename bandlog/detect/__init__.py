"""Eccentric-phase detection: a streaming state machine and its batch twin."""
