"""Log files: bandlog CSV writer/reader, foreign exports, the schema."""
