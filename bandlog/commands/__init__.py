"""One module per CLI verb. Each defines NAME, HELP, ORDER, add_arguments(parser) and run(args) -> int.

Verb modules import heavy libraries inside run(), so `bandlog --help` stays fast.
"""
