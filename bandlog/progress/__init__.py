"""Many sessions over weeks: the session index (a cache of per-rep metrics), trends, charts, the HTML
report, the simulated history of the demo. Reads logs through bandlog.app; below the CLI only.
"""
