"""Live view of a recording or replay: one model of what to show, two front ends."""
