"""The two ways a recording goes through the pipeline: replaying a log (api: read_log, analyze) and
recording a live stream (session). Above sources, emulate, live, io and detect; below progress and the CLI.
"""
