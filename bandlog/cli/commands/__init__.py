"""One module per CLI verb. Each defines NAME, HELP, ORDER, add_arguments(parser) and run(args) -> int.

`bandlog --help` imports every verb module for its NAME and HELP but calls no add_arguments (the CLI
builds the options of the verbs on its command line only). So a verb module's top imports only what
costs next to nothing (os, sys, time, bandlog.core.errors, _live_args); what its options need (choices,
defaults, help text, pathlib for `type=Path`) it imports inside add_arguments, the rest inside run().
Not even argparse or pathlib: the stored `bandlog --help` (bandlog/cli/_top_help.py) needs neither, and
pathlib with urllib.parse and ipaddress was a sixth of it; argparse is imported for type checkers only.
"""
