"""How long a live test may watch (seconds): light enough for the command line's parser
and the API's schema to import without loading the watch."""

DEFAULT_SECONDS = 120
MIN_SECONDS, MAX_SECONDS = 5, 600
