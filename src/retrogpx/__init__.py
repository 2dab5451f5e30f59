"""retrogpx."""
