"""One module per CLI verb. Each defines NAME, HELP, ORDER, add_arguments(parser) and run(args) -> int.

`bandlog --help` imports every verb module for its NAME and HELP but calls no add_arguments (the CLI
builds the options of the verbs on its command line only). So a verb module's top imports only what
costs next to nothing (argparse, pathlib, os, sys, math, bandlog.errors, _live_args); what its
options need (choices, defaults, help text) it imports inside add_arguments, the rest inside run().
"""
