"""Records on disk: reading and writing JSONL files, and code pulled out of completions."""
