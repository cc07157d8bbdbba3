"""The shared types and the one pipeline: samples, results, link status, recording meta, the GATT link seam,
errors, detector events. Imports nothing else of bandlog; everything else imports it.
"""
